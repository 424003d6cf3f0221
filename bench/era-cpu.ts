/**
 * The two protocol eras side by side on ONE gateway process: windows of 2025-era sessions and of
 * 2026-07-28 stateless clients alternate (ABBA order), and each window's CPU per call of the
 * gateway is read from /proc. `run.ts` measures each era on a fresh gateway, once per round, so
 * on a shared 2-vCPU machine a difference of a few µs between its rows is within the noise of
 * one run; here both eras share the heap, the JIT and the moment, which makes a small difference
 * (issue 14: a modern call must cost no more than a session's) visible. Prints every window and,
 * per era, the median. Linux only (CPU from /proc). `era-cpu-in-process.ts` compares the same two calls
 * without HTTP, where a difference of 1–2 % stands out of a busy machine's noise.
 *
 *   bun bench/era-cpu.ts [--backend stdio-echo|http-echo] [--pairs 8] [--window 3] [--concurrency 16]
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { startProcess, stopAllProcesses, stopProcess, withTimeout } from "./child-processes.ts";
import { type ClientEra, runLoad } from "./load.ts";
import { MCPGW_BACKENDS, type McpgwBackend, startMcpgw } from "./mcpgw-target.ts";
import { median } from "./report.ts";

const { values } = parseArgs({
  options: {
    backend: { type: "string", default: "stdio-echo" },
    pairs: { type: "string", default: "8" },
    window: { type: "string", default: "3" },
    concurrency: { type: "string", default: "16" },
  },
});
const backend = values.backend as McpgwBackend;
if (!MCPGW_BACKENDS.includes(backend)) throw new Error(`--backend must be one of ${MCPGW_BACKENDS.join(", ")}`);
const pairs = Number(values.pairs);
const windowMs = Number(values.window) * 1_000;
const concurrency = Number(values.concurrency);

const httpEcho = startProcess("http-echo-server", [process.execPath, join(import.meta.dir, "http-echo-server.ts")]);
const target = await startMcpgw(await withTimeout(httpEcho.firstLine, 10_000, "the HTTP echo server did not print its URL"));
try {
  const endpoint = target.endpoints[backend];
  const pid = target.serving?.process.pid;
  if ("unavailable" in endpoint || pid === undefined)
    throw new Error(`mcpgw is not serving ${backend}: ${"unavailable" in endpoint ? endpoint.unavailable : "no process"}`);
  const measure = (client: ClientEra, measureMs: number) => runLoad({ url: endpoint.url, concurrency, warmupMs: 500, measureMs, client, targetPid: pid });
  // Both eras warm the same process before anything counts.
  for (const client of ["legacy", "modern"] as const) await measure(client, 2_000);
  const perCall: Record<ClientEra, { process: number; main: number }[]> = { legacy: [], modern: [] };
  for (let pair = 0; pair < pairs; pair++) {
    for (const client of pair % 2 === 0 ? (["legacy", "modern"] as const) : (["modern", "legacy"] as const)) {
      const result = await measure(client, windowMs);
      if (result.errors > 0 || !result.cpuPerCall) throw new Error(`${client} window failed: ${result.firstError ?? "no CPU reading (Linux only)"}`);
      perCall[client].push({ process: result.cpuPerCall.processUs, main: result.cpuPerCall.mainThreadUs });
      console.log(
        `${client.padEnd(6)} ${result.cpuPerCall.processUs.toFixed(1)} µs/call (${result.cpuPerCall.mainThreadUs.toFixed(1)} main thread), ${Math.round(result.callsPerSecond)} calls/s`,
      );
    }
  }
  const legacy = median(perCall.legacy.map((w) => w.process));
  const modern = median(perCall.modern.map((w) => w.process));
  console.log(
    `mcpgw → ${backend}, ${pairs} pairs of ${windowMs / 1_000} s windows: legacy ${legacy.toFixed(1)} (${median(perCall.legacy.map((w) => w.main)).toFixed(1)}) µs/call, ` +
      `modern ${modern.toFixed(1)} (${median(perCall.modern.map((w) => w.main)).toFixed(1)}), modern/legacy ${(modern / legacy).toFixed(2)}×`,
  );
} finally {
  await target.stop();
  await stopProcess(httpEcho);
  await stopAllProcesses();
}
