/**
 * The compiled gateway's footprint (issue 15): how long `dist/mcpgw serve` takes to answer /readyz,
 * on a fresh and on an existing SQLite database; its RSS once idle; what each idle 2025-era
 * session on /mcp adds. Each figure is the median of `--runs` starts (default 5).
 *
 *   bun bench/footprint.ts [--runs 5] [--sessions 200,1000] [--settle 2] [--binary PATH]
 *
 * The gateway runs as shipped (authentication and audit on), with the stdio echo backend, a role
 * allowing "*" and a token for the sessions (MCPGW_MAX_SESSIONS_PER_SUBJECT raised above the
 * sessions opened, so none is ended to make room). Per run:
 *   1. cold start, fresh: `serve` on a database that does not exist yet (created and migrated);
 *   2. cold start, existing: `serve` on the database set up once before the runs;
 *   3. idle RSS: that gateway's VmRSS `--settle` seconds after /readyz;
 *   4. per session: 20 sessions opened first (the first one connects the backend and runs code
 *      for the first time), then more, each initialize + notifications/initialized, up to each
 *      count of `--sessions` in turn (cumulative); at each, (RSS then − RSS before) / count, read
 *      `--settle` seconds after the last one. The heap grows in steps (its next collection's
 *      headroom) and the first few hundred sessions pay for that step: 200 shows it, 1000 shows
 *      what a session costs once the heap has its working size.
 * Cold start is timed from just before the spawn to the first 200 from /readyz, polled every 2 ms.
 * Progress goes to stderr, the report (Markdown) to stdout; exit code 1 when the bench itself failed.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { type ManagedProcess, freePort, lastLines, runToCompletion, startProcess, stopAllProcesses, stopProcess } from "./child-processes.ts";
import { machineInfo } from "./machine-info.ts";
import { McpHttpSession } from "./mcp-http-client.ts";
import { BINARY, ensureMcpgwBuilt } from "./mcpgw-target.ts";
import { stdioEchoCommand } from "./peers.ts";

/** Issue 15, acceptance 7. */
export const FOOTPRINT_TARGETS = { idleRssMb: 50, perSessionKb: 30, coldStartExistingMs: 200 } as const;
const WARM_UP_SESSIONS = 20;
const SUBJECT = "bench-footprint";
const READY_TIMEOUT_MS = 20_000;

export interface FootprintOptions {
  runs?: number;
  /** Session counts at which RSS is read, ascending (cumulative). */
  sessions?: number[];
  settleMs?: number;
  /** Another build to measure (default dist/mcpgw, built when stale). */
  binary?: string;
  progress?: (text: string) => void;
}

/** One run's measurements. */
interface FootprintRun {
  coldFreshMs: number;
  coldExistingMs: number;
  idleRssKb: number;
  /** RSS split of the idle gateway: anonymous memory (heap) and file pages (the mapped binary). */
  idleAnonKb: number;
  idleFileKb: number;
  /** Per count of `sessions`. */
  perSessionKb: number[];
  rssWithSessionsKb: number[];
}

/** Runs the footprint bench; returns its report (Markdown). Throws when the gateway cannot be set up. */
export async function runFootprintBench(options: FootprintOptions = {}): Promise<string> {
  const runs = options.runs ?? 5;
  const sessions = options.sessions ?? [200, 1000];
  const most = Math.max(...sessions);
  const settleMs = options.settleMs ?? 2000;
  const progress = options.progress ?? (() => undefined);
  const loadBefore = loadavg();
  const binary = options.binary ?? BINARY;
  const built = options.binary === undefined ? await ensureMcpgwBuilt() : undefined;
  if (built !== undefined) throw new Error(built);
  const folder = mkdtempSync(join(tmpdir(), "mcpgw-footprint-"));
  try {
    const existing = `sqlite:${join(folder, "existing.db")}`;
    progress("footprint: setting up the existing database (migrate, backend, role, token)");
    const token = await setUp(binary, existing);
    const env = { ...process.env, MCPGW_MAX_SESSIONS_PER_SUBJECT: String(most + WARM_UP_SESSIONS + 10) };
    const measured: FootprintRun[] = [];
    for (let run = 1; run <= runs; run++) {
      progress(`footprint: run ${run} of ${runs}`);
      const fresh = await startTimed(binary, `sqlite:${join(folder, `fresh-${run}.db`)}`, env);
      await stopProcess(fresh.serve);
      const started = await startTimed(binary, existing, env);
      try {
        await Bun.sleep(settleMs);
        const idle = memoryOf(started.serve);
        const url = `http://127.0.0.1:${started.port}/mcp`;
        const open = await openSessions(url, token, WARM_UP_SESSIONS, []);
        await Bun.sleep(settleMs);
        const before = memoryOf(started.serve).rssKb;
        const after: number[] = [];
        for (const count of sessions) {
          await openSessions(url, token, count - (open.length - WARM_UP_SESSIONS), open);
          await Bun.sleep(settleMs);
          after.push(memoryOf(started.serve).rssKb);
        }
        measured.push({
          coldFreshMs: fresh.readyMs,
          coldExistingMs: started.readyMs,
          idleRssKb: idle.rssKb,
          idleAnonKb: idle.anonKb,
          idleFileKb: idle.fileKb,
          perSessionKb: after.map((rss, i) => (rss - before) / sessions[i]!),
          rssWithSessionsKb: after,
        });
      } finally {
        await stopProcess(started.serve);
      }
    }
    return formatReport(measured, { binary, runs, sessions, settleMs, loadBefore, loadAfter: loadavg() });
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/** Migrates the database (bench/soak.ts too), adds the stdio echo backend, and issues a token for a role allowing "*". */
export async function setUp(binary: string, db: string): Promise<string> {
  const steps = [
    ["migrate"],
    ["backend", "add", "stdio-echo", "--command", stdioEchoCommand().join(" ")],
    ["role", "create", SUBJECT, "--allow", "*", "--description", "mcpgw footprint bench"],
    ["role", "grant", SUBJECT, SUBJECT],
    ["token", "issue", "--sub", SUBJECT, "--role", SUBJECT, "--ttl", "1h"],
  ];
  let stdout = "";
  for (const step of steps) {
    const result = await runToCompletion([binary, ...step, "--db", db], { timeoutMs: 30_000 });
    if (result.code !== 0) throw new Error(`mcpgw ${step.slice(0, 2).join(" ")} failed: ${lastLines(result.output)}`);
    stdout = result.stdout;
  }
  const token = stdout
    .split("\n")
    .map((line) => line.trim())
    .find((line) => /^[\w-]+\.[\w-]+\.[\w-]+$/.test(line));
  if (token === undefined) throw new Error("mcpgw token issue printed no JWT");
  return token;
}

/** Starts `serve` and times it to the first 200 from /readyz. */
export async function startTimed(
  binary: string,
  db: string,
  env: Record<string, string | undefined>,
): Promise<{ serve: ManagedProcess; port: number; readyMs: number }> {
  const port = await freePort();
  const readyz = `http://127.0.0.1:${port}/readyz`;
  const started = performance.now();
  const serve = startProcess("mcpgw serve", [binary, "serve", "--port", String(port), "--db", db, "--log-level", "warn"], { env });
  while (performance.now() - started < READY_TIMEOUT_MS) {
    if (serve.process.exitCode !== null) throw new Error(`mcpgw serve exited (${serve.process.exitCode}): ${lastLines(serve.outputTail())}`);
    try {
      const response = await fetch(readyz);
      await response.body?.cancel();
      if (response.ok) return { serve, port, readyMs: performance.now() - started };
    } catch {
      // Not listening yet.
    }
    await Bun.sleep(2);
  }
  await stopProcess(serve);
  throw new Error(`mcpgw serve did not answer ${readyz} within ${READY_TIMEOUT_MS / 1000} s: ${lastLines(serve.outputTail())}`);
}

/** Opens `count` sessions, 8 at a time, and keeps them (idle) in `open`. */
async function openSessions(url: string, token: string, count: number, open: McpHttpSession[]): Promise<McpHttpSession[]> {
  const signal = new AbortController().signal;
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      const session = new McpHttpSession({ url, signal, bearerToken: token });
      await session.open();
      open.push(session);
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, count) }, worker));
  return open;
}

/** VmRSS and its split, from /proc (Linux). */
export function memoryOf(serve: ManagedProcess): { rssKb: number; anonKb: number; fileKb: number } {
  const status = readFileSync(`/proc/${serve.process.pid}/status`, "utf8");
  const field = (name: string) => Number(status.match(new RegExp(`^${name}:\\s+(\\d+) kB`, "m"))?.[1] ?? Number.NaN);
  return { rssKb: field("VmRSS"), anonKb: field("RssAnon"), fileKb: field("RssFile") };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function formatReport(
  runs: FootprintRun[],
  context: { binary: string; runs: number; sessions: number[]; settleMs: number; loadBefore: number[]; loadAfter: number[] },
): string {
  const machine = machineInfo();
  const load = (averages: number[]) => averages.map((value) => value.toFixed(2)).join(" ");
  const mb = (kb: number) => (kb / 1024).toFixed(1);
  const row = (label: string, pick: (run: FootprintRun) => number, format: (value: number) => string, unit: string, target?: number) => {
    const values = runs.map(pick);
    const middle = median(values);
    const verdict = target === undefined ? "" : middle <= target ? `≤ ${target} ${unit}: PASS` : `≤ ${target} ${unit}: FAIL`;
    return `| ${label} | ${format(middle)} ${unit} | ${format(Math.min(...values))}–${format(Math.max(...values))} | ${verdict} |`;
  };
  return [
    `## Footprint of ${relative(process.cwd(), context.binary) || context.binary} (median of ${context.runs} runs)`,
    "",
    `${machine.date}, ${machine.nproc} × ${machine.cpuModel}, Bun ${machine.bunVersion}; load average (1/5/15 min) ${load(context.loadBefore)} before, ${load(context.loadAfter)} after`,
    `defaults (auth and audit on), SQLite, one stdio backend; ${context.sessions.join(", then ")} idle 2025-era sessions on /mcp after ${WARM_UP_SESSIONS} warm-up ones; RSS read ${context.settleMs / 1000} s after each step`,
    "",
    "| measure | median | range | target |",
    "|---|---:|---:|---|",
    row(
      "cold start to /readyz, fresh database",
      (run) => run.coldFreshMs,
      (value) => value.toFixed(0),
      "ms",
    ),
    row(
      "cold start to /readyz, existing database",
      (run) => run.coldExistingMs,
      (value) => value.toFixed(0),
      "ms",
      FOOTPRINT_TARGETS.coldStartExistingMs,
    ),
    row(
      "idle RSS",
      (run) => run.idleRssKb / 1024,
      (value) => value.toFixed(1),
      "MB",
      FOOTPRINT_TARGETS.idleRssMb,
    ),
    row(
      "  of which anonymous (heap, stacks)",
      (run) => run.idleAnonKb / 1024,
      (value) => value.toFixed(1),
      "MB",
    ),
    row(
      "  of which file pages (the binary)",
      (run) => run.idleFileKb / 1024,
      (value) => value.toFixed(1),
      "MB",
    ),
    ...context.sessions.flatMap((count, i) => [
      row(
        `per idle session, ${count} sessions`,
        (run) => run.perSessionKb[i]!,
        (value) => value.toFixed(1),
        "KB",
        FOOTPRINT_TARGETS.perSessionKb,
      ),
      row(
        `RSS with ${count + WARM_UP_SESSIONS} sessions`,
        (run) => run.rssWithSessionsKb[i]! / 1024,
        (value) => value.toFixed(1),
        "MB",
      ),
    ]),
    "",
    `runs: ${runs.map((run) => `${run.coldFreshMs.toFixed(0)}/${run.coldExistingMs.toFixed(0)} ms, ${mb(run.idleRssKb)} MB, ${run.perSessionKb.map((kb) => kb.toFixed(1)).join("/")} KB`).join("; ")}`,
  ].join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      runs: { type: "string", default: "5" },
      sessions: { type: "string", default: "200,1000" },
      settle: { type: "string", default: "2" },
      binary: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log("bun bench/footprint.ts [--runs 5] [--sessions 200,1000] [--settle 2] [--binary PATH]   (see the comment at the top of bench/footprint.ts)");
    process.exit(0);
  }
  const runs = Number(values.runs);
  const sessions = values.sessions.split(",").map(Number);
  const settleMs = Number(values.settle) * 1000;
  if (
    !Number.isInteger(runs) ||
    runs < 1 ||
    !sessions.every((count, i) => Number.isInteger(count) && count >= 1 && count > (sessions[i - 1] ?? 0)) ||
    !(settleMs >= 0)
  ) {
    console.error("--runs must be a whole number of at least 1, --sessions ascending whole numbers (e.g. 200,1000), --settle a number of seconds");
    process.exit(2);
  }
  try {
    console.log(
      await runFootprintBench({
        runs,
        sessions,
        settleMs,
        ...(values.binary !== undefined && { binary: values.binary }),
        progress: (text) => console.error(text),
      }),
    );
  } catch (err) {
    console.error(`footprint bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = 1;
  } finally {
    await stopAllProcesses();
  }
}
