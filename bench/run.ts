/**
 * `npm run bench`: one run, side by side, of the same echo tool called directly, through mcpgw,
 * and through the peers (supergateway, mcp-proxy), all on 127.0.0.1 with free ports. Targets are
 * measured one after another, each started just before its row and stopped after it, so that
 * on a small machine no idle relay competes with the one being measured.
 *
 *   bun bench/run.ts [--warmup 2] [--duration 8] [--concurrency 16] [--rounds 3] [--only direct,mcpgw-http,…,feature-costs,audit-ingest,jobs]
 *
 * mcpgw rows name their profile: "relay only" (MCPGW_AUTH=off, MCPGW_AUDIT=off) measures the relay
 * against the peers; the feature rows add one feature each, so each feature's cost is read off one run.
 * The load is a 2025-era client (a session per loop) except in the "modern client" rows, where it
 * sends stateless 2026-07-28 requests to a relay-only mcpgw of its own.
 *
 * The whole sequence runs `--rounds` times (default 3), and each row reports its median round (by
 * throughput) with the range over rounds: on a small shared machine one 8 s window can be 20% off
 * either way, and a ratio of two single windows (the feature rows against relay only) even more.
 *
 * Progress goes to stderr, the report to stdout. Exit code 0 when the run completed (whatever the
 * targets say), 1 when the bench itself failed. Every child process is stopped on every exit path.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { runAuditIngestBench } from "./audit-ingest.ts";
import { runFeatureCostsBench } from "./feature-costs.ts";
import { runFootprintBench } from "./footprint.ts";
import { runJobsBench } from "./jobs.ts";
import { type ManagedProcess, lastLines, startProcess, stopAllProcesses, stopProcess, withTimeout } from "./child-processes.ts";
import { type ClientEra, type LoadOptions, runLoad } from "./load.ts";
import { machineInfo } from "./machine-info.ts";
import { type McpgwBackend, type McpgwProfile, type McpgwTarget, RELAY_ONLY, startMcpgw } from "./mcpgw-target.ts";
import { type StartedPeer, peerInfo, startMcpProxy, startReferenceRelay, startSupergateway } from "./peers.ts";
import { type Row, type RowKey, formatReport, medianRow } from "./report.ts";

const ROW_LABELS = {
  direct: "direct → HTTP echo",
  "mcpgw-http": "mcpgw → HTTP echo (relay only)",
  "mcpgw-stdio": "mcpgw → stdio echo (relay only)",
  "mcpgw-modern-http": "mcpgw (modern client) → HTTP echo (relay only)",
  "mcpgw-modern-stdio": "mcpgw (modern client) → stdio echo (relay only)",
  "mcpgw-stdio-auth": "mcpgw → stdio echo + auth & RBAC",
  "mcpgw-stdio-limit": "mcpgw → stdio echo + rate limit",
  "mcpgw-stdio-audit": "mcpgw → stdio echo + audit (SQLite)",
  "mcpgw-stdio-defaults": "mcpgw → stdio echo, defaults (auth, RBAC, audit)",
  "mcpgw-stdio-unpinned": "mcpgw → stdio echo (relay only, pinning off)",
  supergateway: "supergateway → stdio echo",
  "mcp-proxy": "mcp-proxy → stdio echo",
  "reference-http": "reference relay → HTTP echo (no gateway logic)",
  "reference-stdio": "reference relay → stdio echo (no gateway logic)",
  "reference-checks-http": "reference relay + a gateway's checks → HTTP echo",
  "reference-checks-stdio": "reference relay + a gateway's checks → stdio echo",
} satisfies Record<RowKey, string>;
const ROW_KEYS = Object.keys(ROW_LABELS) as RowKey[];

const { values } = parseArgs({
  options: {
    warmup: { type: "string", default: "2" },
    duration: { type: "string", default: "8" },
    concurrency: { type: "string", default: "16" },
    rounds: { type: "string", default: "3" },
    only: { type: "string" },
  },
});
// "feature-costs" selects the feature costs measured in one process (bench/feature-costs.ts), "audit-ingest"
// the audit ingest bench (bench/audit-ingest.ts) and "jobs" the jobs bench (bench/jobs.ts), which run after
// the relay table; "footprint" the footprint bench (bench/footprint.ts: start-up time and memory), only when
// asked for (it takes minutes).
const OTHER_BENCHES = ["feature-costs", "audit-ingest", "jobs", "footprint"];
const only = values.only?.split(",");
const runFeatureCosts = only === undefined || only.includes("feature-costs");
const runAuditIngest = only === undefined || only.includes("audit-ingest");
const runJobs = only === undefined || only.includes("jobs");
const runFootprint = only?.includes("footprint") ?? false;
const selected = only === undefined ? ROW_KEYS : (only.filter((key) => !OTHER_BENCHES.includes(key)) as RowKey[]);
const unknown = selected.filter((key) => !ROW_KEYS.includes(key));
if (unknown.length > 0) {
  console.error(`unknown target(s) ${unknown.join(", ")}; choose among ${[...ROW_KEYS, ...OTHER_BENCHES].join(", ")}`);
  process.exit(2);
}
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error(`--rounds must be a whole number of at least 1 (got "${values.rounds}")`);
  process.exit(2);
}
const load = {
  concurrency: Number(values.concurrency),
  warmupMs: Number(values.warmup) * 1000,
  measureMs: Number(values.duration) * 1000,
};

const machine = machineInfo();
const rows: Row[] = [];
const notes: string[] = [];
const commands: Record<string, string> = {};
let mcpgw: McpgwTarget | undefined;

try {
  progress("starting the HTTP echo server");
  const httpEcho = startProcess("http-echo-server", [process.execPath, join(import.meta.dir, "http-echo-server.ts")]);
  const httpEchoUrl = await withTimeout(httpEcho.firstLine, 10_000, "the HTTP echo server did not print its URL");
  commands["HTTP echo"] = `bun bench/http-echo-server.ts → ${httpEchoUrl}`;

  const byKey = new Map<RowKey, Row[]>();
  for (let round = 1; round <= rounds; round++) {
    if (rounds > 1) progress(`round ${round} of ${rounds}`);
    for (const row of await measureRound(httpEchoUrl, httpEcho)) byKey.set(row.key, [...(byKey.get(row.key) ?? []), row]);
  }
  // Each round adds the same notes (a gateway's token, say): keep one of each.
  notes.splice(0, notes.length, ...new Set(notes));
  for (const key of ROW_KEYS) {
    const measured = byKey.get(key);
    if (measured !== undefined) rows.push(medianRow(measured));
  }
  await stopProcess(httpEcho);

  const peers = peerInfo()
    .map((peer) => `${peer.name} ${peer.version}`)
    .join(", ");
  const context = [
    `load: ${load.concurrency} concurrent clients (a session each, but for the modern-client rows), each a loop with one tools/call echo("hello") in flight; ${values.warmup} s warm-up discarded, ${values.duration} s measured; errors counted over the whole run`,
    `rounds: ${rounds}; each row is its median round by throughput${rounds > 1 ? ", with the range over rounds" : ""}`,
    `versions: mcpgw ${mcpgw?.version ?? "(not run)"}; ${peers} on ${peerInfo()[0]?.runtime}`,
  ];
  if (selected.length > 0) console.log(formatReport({ machine, context, rows, notes, commands }));
  if (runFeatureCosts) {
    progress("feature costs in one process: auth, a rate limit, audit (bench/feature-costs.ts)");
    console.log(`\n${await runFeatureCostsBench({ progress })}`);
  }
  if (runAuditIngest) {
    progress("audit ingest: write-ahead records per second, SQLite and PostgreSQL, median of 5 runs (bench/audit-ingest.ts)");
    console.log(`\n${await runAuditIngestBench({ progress })}`);
  }
  if (runJobs) {
    progress("jobs: submit-to-start latency and drain rate (bench/jobs.ts)");
    console.log(`\n${await runJobsBench({ progress })}`);
  }
  if (runFootprint) {
    progress("footprint: cold start, idle RSS, RSS per idle session (bench/footprint.ts)");
    console.log(`\n${await runFootprintBench({ progress })}`);
  }
} catch (err) {
  console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 1;
} finally {
  await mcpgw?.stop().catch(() => undefined);
  await stopAllProcesses();
}

/** One pass over every selected target, each started just before its row and stopped after it. */
async function measureRound(httpEchoUrl: string, httpEcho: ManagedProcess): Promise<Row[]> {
  const measuredRows: Row[] = [];
  if (selected.includes("direct")) measuredRows.push(await measure("direct", httpEchoUrl, { serving: httpEcho }));

  // Relay only, legacy clients then modern ones, each on a gateway of its own: a modern row does
  // not inherit a heap and JIT warmed by the legacy rows, nor their sessions' leftovers.
  const relayOnlyRows: [ClientEra, [RowKey, McpgwBackend][]][] = [
    [
      "legacy",
      [
        ["mcpgw-http", "http-echo"],
        ["mcpgw-stdio", "stdio-echo"],
      ],
    ],
    [
      "modern",
      [
        ["mcpgw-modern-http", "http-echo"],
        ["mcpgw-modern-stdio", "stdio-echo"],
      ],
    ],
  ];
  for (const [client, keyed] of relayOnlyRows) {
    const wanted = keyed.filter(([key]) => selected.includes(key));
    if (wanted.length === 0) continue;
    progress(`starting mcpgw for ${client} clients (build if stale, migrate, backend add, serve)`);
    mcpgw = await startMcpgw(httpEchoUrl);
    notes.push(...mcpgw.notes);
    if (mcpgw.commandLine !== undefined) commands.mcpgw = mcpgw.commandLine;
    for (const [key, backend] of wanted) {
      const endpoint = mcpgw.endpoints[backend];
      if ("url" in endpoint) measuredRows.push(await measure(key, endpoint.url, { bearerToken: mcpgw.token, serving: mcpgw.serving, client }));
      else measuredRows.push(unavailableRow(key, endpoint.unavailable));
    }
    await mcpgw.stop();
  }

  // Each feature on its own over the relay-only profile, then everything a default install runs.
  const featureRows: [RowKey, McpgwProfile][] = [
    ["mcpgw-stdio-auth", { ...RELAY_ONLY, auth: true }],
    ["mcpgw-stdio-limit", { ...RELAY_ONLY, limit: true }],
    ["mcpgw-stdio-audit", { ...RELAY_ONLY, audit: true }],
    ["mcpgw-stdio-defaults", { auth: true, audit: true, limit: false }],
    ["mcpgw-stdio-unpinned", { ...RELAY_ONLY, pinning: false }],
  ];
  for (const [key, profile] of featureRows) {
    if (!selected.includes(key)) continue;
    progress(`starting mcpgw for ${ROW_LABELS[key]}`);
    const target = await startMcpgw(httpEchoUrl, profile);
    notes.push(...target.notes.map((note) => `${ROW_LABELS[key]}: ${note}`));
    const endpoint = target.endpoints["stdio-echo"];
    if ("url" in endpoint) measuredRows.push(await measure(key, endpoint.url, { bearerToken: target.token, serving: target.serving }));
    else measuredRows.push(unavailableRow(key, endpoint.unavailable));
    await target.stop();
  }

  const relays = [
    ["supergateway", startSupergateway],
    ["mcp-proxy", startMcpProxy],
    ["reference-http", () => startReferenceRelay({ http: httpEchoUrl })],
    ["reference-stdio", () => startReferenceRelay({ stdio: true })],
    ["reference-checks-http", () => startReferenceRelay({ http: httpEchoUrl }, { checks: true })],
    ["reference-checks-stdio", () => startReferenceRelay({ stdio: true }, { checks: true })],
  ] as const;
  for (const [key, start] of relays) {
    if (!selected.includes(key)) continue;
    progress(`starting ${key}`);
    let peer: StartedPeer;
    try {
      peer = await start();
    } catch (err) {
      measuredRows.push(unavailableRow(key, `${key} did not start: ${message(err)}`));
      continue;
    }
    commands[key] = `${peer.commandLine}  (endpoint ${peer.url})`;
    measuredRows.push(await measure(key, peer.url, { serving: peer.process }));
    await stopProcess(peer.process);
  }
  return measuredRows;
}

/** Runs the load against one target; a target that cannot be driven becomes an n/a row with the reason. */
/** `serving` is the target's process: its CPU per call is measured, and its output explains a failure. */
/** `client` is the load's protocol era (legacy unless said). */
async function measure(
  key: RowKey,
  url: string,
  target: { bearerToken?: string | undefined; serving?: ManagedProcess | undefined; client?: ClientEra },
): Promise<Row> {
  const { bearerToken, serving, client = "legacy" } = target;
  const label = ROW_LABELS[key];
  progress(`measuring ${label} (${url})`);
  Bun.gc(true); // Start each row with the load generator's heap clean, not carrying the last row's garbage.
  const options: LoadOptions = {
    url,
    ...load,
    client,
    ...(bearerToken !== undefined && { bearerToken }),
    ...(serving !== undefined && { targetPid: serving.process.pid }),
  };
  try {
    const result = await runLoad(options);
    const cpu =
      result.cpuPerCall === undefined
        ? ""
        : `, ${Math.round(result.cpuPerCall.processUs)} µs CPU per call (${Math.round(result.cpuPerCall.mainThreadUs)} main thread)`;
    progress(
      `  ${Math.round(result.callsPerSecond)} calls/s, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, ${result.errors} errors${cpu}`,
    );
    return { key, label, result };
  } catch (err) {
    const output = serving?.outputTail();
    return unavailableRow(key, message(err) + (output ? ` (${serving?.name} said: ${lastLines(output, 2)})` : ""));
  }
}

function unavailableRow(key: RowKey, reason: string): Row {
  progress(`  n/a: ${reason}`);
  return { key, label: ROW_LABELS[key], unavailable: reason };
}

function progress(text: string): void {
  console.error(`[bench] ${text}`);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
