/**
 * The two protocol eras on one gateway with no HTTP in between: the gateway (started in this
 * process, as the tests start it, relay only) has its fetch handler called directly with
 * prebuilt requests, 16 loops at a time, against the stdio echo server, in short alternating
 * windows (ABBA); the CPU of the whole process per call (gateway and these minimal clients) is
 * read with process.cpuUsage(). Without the load generator's and the HTTP server's own costs,
 * and with many short windows, it shows differences of a few per cent that `era-cpu.ts` cannot
 * on a busy machine (issue 14: a modern call must cost no more than a session's). Prints the
 * median per era and the median of the pairs' ratios.
 *
 *   bun bench/era-cpu-in-process.ts [--pairs 300] [--window 100] [--concurrency 16]
 */
import { parseArgs } from "node:util";
import { BASE_HEADERS, cpuPerCall, startInProcessGateway } from "./in-process-gateway.ts";
import type { ClientEra } from "./load.ts";
import { median } from "./report.ts";

const { values } = parseArgs({
  options: {
    pairs: { type: "string", default: "300" },
    window: { type: "string", default: "100" },
    concurrency: { type: "string", default: "16" },
  },
});
const pairs = Number(values.pairs);
const windowMs = Number(values.window);
const concurrency = Number(values.concurrency);

const gateway = await startInProcessGateway({ audit: "off" });
// As the bench's clients send them (mcp-http-client.ts, mcp-modern-client.ts).
const MODERN_META =
  '"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},' +
  '"io.modelcontextprotocol/clientInfo":{"name":"mcpgw-bench-load","version":"1.0.0"}}';
const MODERN_HEADERS = { ...BASE_HEADERS, "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "echo" };

async function post(headers: Record<string, string>, body: string): Promise<string> {
  return (await gateway.post(headers, body)).text();
}

const sessions = await Promise.all(Array.from({ length: concurrency }, () => gateway.openSession()));

/** CPU µs per call of this process over one window of `era` calls. */
function measure(era: ClientEra, ms: number): Promise<number> {
  return cpuPerCall(ms, sessions, (sessionHeaders, id) =>
    era === "legacy"
      ? post(sessionHeaders, `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}`)
      : post(MODERN_HEADERS, `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"},${MODERN_META}}}`),
  );
}

try {
  for (let warm = 0; warm < 3; warm++) for (const era of ["legacy", "modern"] as const) await measure(era, 700);
  const perCall: Record<ClientEra, number[]> = { legacy: [], modern: [] };
  const ratios: number[] = [];
  for (let pair = 0; pair < pairs; pair++) {
    const order = pair % 2 === 0 ? (["legacy", "modern"] as const) : (["modern", "legacy"] as const);
    const window: Partial<Record<ClientEra, number>> = {};
    for (const era of order) {
      window[era] = await measure(era, windowMs);
      perCall[era].push(window[era]);
    }
    ratios.push(window.modern! / window.legacy!);
  }
  console.log(
    `in-process → stdio echo (Bun ${Bun.version}), ${pairs} pairs of ${windowMs} ms windows: ` +
      `legacy ${median(perCall.legacy).toFixed(2)} µs/call, modern ${median(perCall.modern).toFixed(2)}, median of the pairs' modern/legacy ${median(ratios).toFixed(3)}×`,
  );
} finally {
  await gateway.gateway.stop();
}
process.exit(0);
