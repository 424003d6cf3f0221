/**
 * The load generator: `concurrency` independent MCP clients against one Streamable HTTP endpoint,
 * each a closed loop with exactly one tools/call in flight (so concurrency 16 = 16 clients =
 * 16 calls in flight). A legacy (2025-era) client is a session, initialized first (not timed); a
 * modern (2026-07-28) client has no session and starts calling at once. Both use Bun's fetch and
 * its keep-alive connections. Then a warm-up, whose calls are discarded, and a fixed measuring
 * window. A call counts when it completes inside the window.
 *
 *   bun bench/load.ts URL [--client legacy|modern] [--concurrency 16] [--warmup 2] [--duration 8] [--token JWT] [--pid TARGET_PID]
 */
import { parseArgs } from "node:util";
import { McpHttpError, McpHttpSession, type RpcResponse } from "./mcp-http-client.ts";
import { McpModernClient } from "./mcp-modern-client.ts";
import { type CpuTime, cpuTime } from "./process-cpu.ts";

/** Which protocol the load speaks: 2025-era sessions, or 2026-07-28 stateless requests. */
export type ClientEra = "legacy" | "modern";
export const CLIENT_ERAS: readonly ClientEra[] = ["legacy", "modern"];

/** What the load needs of a client of either era. */
interface LoadClient {
  /** A legacy session's initialize; nothing for a modern client. */
  open(): Promise<void>;
  callTool(name: string, args: Record<string, unknown>): Promise<RpcResponse>;
  close(): Promise<void>;
}

const CLIENTS = {
  legacy: (options) => new McpHttpSession(options),
  modern: (options) => new McpModernClient(options),
} satisfies Record<ClientEra, (options: { url: string; signal: AbortSignal; bearerToken?: string }) => LoadClient>;

export interface LoadOptions {
  url: string;
  concurrency: number;
  warmupMs: number;
  measureMs: number;
  bearerToken?: string;
  /** Legacy (the default) or modern clients. */
  client?: ClientEra;
  /** The target's process id: its CPU time over the measuring window is reported per call (Linux). */
  targetPid?: number;
}

export interface LoadResult {
  /** Successful calls completed inside the measuring window. */
  calls: number;
  callsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Failed calls over the whole run, warm-up included. */
  errors: number;
  /** The first failure, to say what went wrong. */
  firstError?: string;
  /** The target process's CPU per call over the measuring window, in µs (with targetPid, on Linux). */
  cpuPerCall?: { processUs: number; mainThreadUs: number };
}

const ECHO_TEXT = "hello";
const ECHO_ARGS = { text: ECHO_TEXT };
// Calls still running this long after the window closes are aborted and counted as errors.
const STOP_GRACE_MS = 5000;

/** Runs the load and returns throughput and latency; throws if the (legacy) sessions cannot initialize. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const stop = new AbortController();
  const newClient = CLIENTS[options.client ?? "legacy"];
  const clients = Array.from({ length: options.concurrency }, () =>
    newClient({ url: options.url, signal: stop.signal, ...(options.bearerToken !== undefined && { bearerToken: options.bearerToken }) }),
  );
  const initTimer = setTimeout(() => stop.abort(), 15_000);
  try {
    await Promise.all(clients.map((client) => client.open()));
  } catch (err) {
    stop.abort();
    throw new Error(`initialize failed: ${describe(err)}`);
  } finally {
    clearTimeout(initTimer);
  }

  const start = performance.now();
  const measuring = { from: start + options.warmupMs, to: start + options.warmupMs + options.measureMs };
  const tally = { latencies: [] as number[], errors: 0, firstError: undefined as string | undefined };
  const hardStop = setTimeout(() => stop.abort(), options.warmupMs + options.measureMs + STOP_GRACE_MS);
  // The target's CPU time when the window opens and when it closes (timers: no call waits for them).
  const cpu: { from?: CpuTime; to?: CpuTime } = {};
  const pid = options.targetPid;
  const cpuTimers =
    pid === undefined
      ? []
      : [setTimeout(() => (cpu.from = cpuTime(pid)), options.warmupMs), setTimeout(() => (cpu.to = cpuTime(pid)), options.warmupMs + options.measureMs)];
  try {
    await Promise.all(clients.map((client) => worker(client, measuring, tally)));
  } finally {
    clearTimeout(hardStop);
    for (const timer of cpuTimers) clearTimeout(timer);
    // The calls can all end before the closing timer gets its turn (a fast target, a busy loop): read it now.
    if (pid !== undefined && cpu.from !== undefined && cpu.to === undefined) cpu.to = cpuTime(pid);
    await Promise.all(clients.map((client) => client.close()));
  }

  const latencies = Float64Array.from(tally.latencies).sort();
  return {
    calls: latencies.length,
    callsPerSecond: latencies.length / (options.measureMs / 1000),
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    errors: tally.errors,
    ...(tally.firstError !== undefined && { firstError: tally.firstError }),
    ...(cpu.from &&
      cpu.to &&
      latencies.length > 0 && {
        cpuPerCall: {
          processUs: ((cpu.to.processMs - cpu.from.processMs) * 1000) / latencies.length,
          mainThreadUs: ((cpu.to.mainThreadMs - cpu.from.mainThreadMs) * 1000) / latencies.length,
        },
      }),
  };
}

interface Tally {
  latencies: number[];
  errors: number;
  firstError: string | undefined;
}

async function worker(client: LoadClient, measuring: { from: number; to: number }, tally: Tally): Promise<void> {
  while (performance.now() < measuring.to) {
    const begin = performance.now();
    let failure: string | undefined;
    try {
      failure = checkEcho(await client.callTool("echo", ECHO_ARGS));
    } catch (err) {
      failure = describe(err);
      // An expired or unknown session: start a new one, as a real client must.
      if (err instanceof McpHttpError && err.status === 404) await client.open().catch(() => undefined);
    }
    const end = performance.now();
    if (failure !== undefined) {
      tally.errors++;
      tally.firstError ??= failure;
    } else if (end >= measuring.from && end <= measuring.to) {
      tally.latencies.push(end - begin);
    }
  }
}

/** Undefined when the response is a correct echo, otherwise what is wrong with it. */
function checkEcho(response: RpcResponse): string | undefined {
  if (response.error !== undefined) return `JSON-RPC error ${response.error.code}: ${response.error.message}`;
  const text = response.result?.content?.[0]?.text;
  return text === ECHO_TEXT ? undefined : `unexpected result ${JSON.stringify(response.result).slice(0, 160)}`;
}

/** Nearest-rank percentile of an ascending array; NaN when empty. */
function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

function describe(err: unknown): string {
  if (err instanceof Error)
    return err.name === "AbortError" || err.name === "TimeoutError" ? "timed out (no answer before the bench stopped waiting)" : err.message;
  return String(err);
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      client: { type: "string", default: "legacy" },
      concurrency: { type: "string", default: "16" },
      warmup: { type: "string", default: "2" },
      duration: { type: "string", default: "8" },
      token: { type: "string" },
      pid: { type: "string" },
    },
  });
  const url = positionals[0];
  if (url === undefined) {
    console.error("usage: bun bench/load.ts URL [--client legacy|modern] [--concurrency 16] [--warmup 2] [--duration 8] [--token JWT] [--pid TARGET_PID]");
    process.exit(2);
  }
  const client = CLIENT_ERAS.find((era) => era === values.client);
  if (client === undefined) {
    console.error(`--client must be ${CLIENT_ERAS.join(" or ")}, got "${values.client}"`);
    process.exit(2);
  }
  if (values.pid !== undefined && !/^[1-9]\d*$/.test(values.pid)) {
    console.error(`--pid must be a process id (a whole number), got "${values.pid}"`);
    process.exit(2);
  }
  const result = await runLoad({
    url,
    concurrency: Number(values.concurrency),
    warmupMs: Number(values.warmup) * 1000,
    measureMs: Number(values.duration) * 1000,
    client,
    ...(values.token !== undefined && { bearerToken: values.token }),
    ...(values.pid !== undefined && { targetPid: Number(values.pid) }),
  });
  console.log(JSON.stringify(result, null, 2));
}
