/**
 * Relays side by side, as they are served: each target runs on its own port, in front of the same echo server,
 * and the bench's load (bench/load.ts) is sent to one at a time, in windows alternated pair by pair (the order
 * reversed every other pair); each target's CPU per call is read from /proc over its windows. For differences
 * of a few per cent that one full run cannot show on a shared 2-core machine, where the same build moves by a
 * fifth between runs: two builds of mcpgw (a saved copy of dist/mcpgw and the new one), or mcpgw against the
 * reference relays. Calls made in the fetch handler directly (bench/in-process-gateway.ts) leave out what
 * serving a call costs around it, and underweight the gateway's own pieces by two to three times (docs/relay.md,
 * "Out of process").
 *
 *   bun bench/side-by-side.ts [--pairs 12] [--window 3] [--concurrency 16] [--transport stdio|http]
 *                             [--profile relay|defaults] TARGET TARGET...
 *
 * TARGET: the path of an mcpgw executable (migrated, given the echo backends and served by this script, as the
 * bench serves dist/mcpgw; `--profile defaults` turns authentication and the write-ahead audit on), or
 * `reference` / `checked` (bench/reference-relay.ts, bench/checked-relay.ts). Prints, per target, the median CPU
 * per call and the median of the ratios of its window to the first target's window of the same pair, with that
 * median's 95 % interval (bench/report.ts, medianInterval): a difference whose interval holds 1 is not one that
 * this run can tell from the machine's noise.
 */
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { startProcess, stopAllProcesses, withTimeout } from "./child-processes.ts";
import { runLoad } from "./load.ts";
import { type McpgwBackend, type McpgwProfile, RELAY_ONLY, startMcpgw } from "./mcpgw-target.ts";
import { startReferenceRelay } from "./peers.ts";
import { median, medianInterval } from "./report.ts";

const USAGE =
  "usage: bun bench/side-by-side.ts [--pairs 12] [--window 3] [--concurrency 16] [--transport stdio|http] [--profile relay|defaults] TARGET TARGET...\n" +
  "  TARGET: the path of an mcpgw executable, or reference, or checked";
const PROFILES: Record<string, McpgwProfile> = { relay: RELAY_ONLY, defaults: { auth: true, audit: true, limit: false } };

const { values, positionals } = parseArgs({
  options: {
    pairs: { type: "string", default: "12" },
    window: { type: "string", default: "3" },
    concurrency: { type: "string", default: "16" },
    transport: { type: "string", default: "stdio" },
    profile: { type: "string", default: "relay" },
  },
  allowPositionals: true,
});
const pairs = Number(values.pairs);
const windowMs = Number(values.window) * 1_000;
const concurrency = Number(values.concurrency);
const profile = PROFILES[values.profile];
const transport = values.transport;
if (
  positionals.length < 2 ||
  !profile ||
  (transport !== "stdio" && transport !== "http") ||
  ![pairs, windowMs, concurrency].every((n) => Number.isInteger(n) && n > 0)
) {
  console.error(USAGE);
  process.exit(2);
}

interface Target {
  name: string;
  url: string;
  pid: number;
  token?: string;
  stop(): Promise<void>;
}

async function startTarget(name: string, httpEchoUrl: string): Promise<Target> {
  if (name === "reference" || name === "checked") {
    const peer = await startReferenceRelay(transport === "http" ? { http: httpEchoUrl } : { stdio: true }, { checks: name === "checked" });
    return { name, url: peer.url, pid: peer.process.process.pid, stop: async () => undefined };
  }
  const gateway = await startMcpgw(httpEchoUrl, profile!, resolve(name));
  const backend: McpgwBackend = transport === "http" ? "http-echo" : "stdio-echo";
  const endpoint = gateway.endpoints[backend];
  if ("unavailable" in endpoint || gateway.serving === undefined) {
    await gateway.stop();
    throw new Error(`${name}: ${"unavailable" in endpoint ? endpoint.unavailable : "not served"}`);
  }
  return {
    name,
    url: endpoint.url,
    pid: gateway.serving.process.pid,
    ...(gateway.token !== undefined && { token: gateway.token }),
    stop: () => gateway.stop(),
  };
}

/** The 95 % interval of the median ratio, and whether it tells the target apart from the first. */
function ratioInterval(ratios: number[]): string {
  const interval = medianInterval(ratios);
  if (interval === undefined) return "too few pairs for a 95 % interval: use 6 or more";
  const verdict = interval.high < 1 ? "lower" : interval.low > 1 ? "higher" : "not told apart from 1";
  return `95 % interval of the median ${interval.low.toFixed(3)}–${interval.high.toFixed(3)}: ${verdict}`;
}

const targets: Target[] = [];
try {
  const httpEcho = startProcess("http-echo-server", [process.execPath, join(import.meta.dir, "http-echo-server.ts")]);
  const httpEchoUrl = await withTimeout(httpEcho.firstLine, 10_000, "the HTTP echo server did not print its URL");
  for (const name of positionals) targets.push(await startTarget(name, httpEchoUrl));
  const perCall = new Map<Target, number[]>(targets.map((target) => [target, []]));
  const measure = async (target: Target) => {
    const result = await runLoad({
      url: target.url,
      concurrency,
      warmupMs: 500,
      measureMs: windowMs,
      targetPid: target.pid,
      ...(target.token !== undefined && { bearerToken: target.token }),
    });
    if (result.errors > 0 || result.cpuPerCall === undefined)
      throw new Error(`${target.name}: ${result.errors} errors (${result.firstError ?? "no CPU reading"})`);
    perCall.get(target)!.push(result.cpuPerCall.processUs);
  };
  for (const target of targets) await measure(target); // warm-up, not kept
  for (const target of targets) perCall.get(target)!.length = 0;
  for (let pair = 0; pair < pairs; pair++) {
    for (const target of pair % 2 === 0 ? targets : [...targets].reverse()) await measure(target);
    console.error(`[side-by-side] pair ${pair + 1}/${pairs}: ${targets.map((t) => `${perCall.get(t)!.at(-1)!.toFixed(1)}`).join(" / ")} µs per call`);
  }
  const first = perCall.get(targets[0]!)!;
  console.log(
    `${transport} echo, ${values.profile} profile, ${pairs} pairs of ${windowMs / 1_000} s windows, ${concurrency} clients (CPU per call of each target's process):`,
  );
  for (const [index, target] of targets.entries()) {
    const windows = perCall.get(target)!;
    const ratios = windows.map((us, i) => us / first[i]!);
    const pairsRange = `pairs ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`;
    console.log(
      `  ${median(windows).toFixed(1).padStart(7)} µs  ${median(ratios).toFixed(3)}× the first (${index === 0 ? pairsRange : `${ratioInterval(ratios)}; ${pairsRange}`})  ${target.name}`,
    );
  }
} catch (err) {
  console.error(`side-by-side: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  for (const target of targets) await target.stop();
  await stopAllProcesses();
}
process.exit();
