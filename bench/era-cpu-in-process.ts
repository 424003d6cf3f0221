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
import { startTestGateway } from "../test/helpers/gateway.ts";
import { stdioEchoCommand } from "./peers.ts";
import type { ClientEra } from "./load.ts";

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

// The gateway's own fetch handler, taken as the gateway hands it to Bun.serve (which still listens).
type Handler = (request: Request, server: unknown) => Response | Promise<Response>;
let handler: Handler | undefined;
const serve = Bun.serve;
(Bun as unknown as { serve: (options: { fetch: Handler }) => unknown }).serve = (options) => {
  handler = options.fetch;
  return serve(options as never);
};
const gateway = await startTestGateway([{ name: "echo", command: stdioEchoCommand() }], { audit: "off" });
(Bun as unknown as { serve: typeof serve }).serve = serve;
if (handler === undefined) throw new Error("the gateway did not call Bun.serve");
const fetchHandler: Handler = handler;
// What the handler may ask of the server: no idle timeout for MCP streams, and the peer's address.
const server = { timeout() {}, requestIP: () => null };
const url = gateway.mcpUrl("echo").toString();
const BASE_HEADERS = { accept: "application/json, text/event-stream", "content-type": "application/json" };
// As the bench's clients send them (mcp-http-client.ts, mcp-modern-client.ts).
const MODERN_META =
  '"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},' +
  '"io.modelcontextprotocol/clientInfo":{"name":"mcpgw-bench-load","version":"1.0.0"}}';
const MODERN_HEADERS = { ...BASE_HEADERS, "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "echo" };

async function post(headers: Record<string, string>, body: string): Promise<string> {
  const response = await fetchHandler(new Request(url, { method: "POST", headers, body }), server);
  return response.text();
}

/** A 2025 session: initialize and notifications/initialized, then its headers for every call. */
async function openSession(): Promise<Record<string, string>> {
  const initialize = {
    jsonrpc: "2.0",
    id: 0,
    method: "initialize",
    params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "mcpgw-bench-load", version: "1.0.0" } },
  };
  const response = await fetchHandler(new Request(url, { method: "POST", headers: BASE_HEADERS, body: JSON.stringify(initialize) }), server);
  const session = response.headers.get("mcp-session-id");
  await response.text();
  if (session === null) throw new Error(`initialize was answered without a session (HTTP ${response.status})`);
  const headers = { ...BASE_HEADERS, "mcp-session-id": session, "mcp-protocol-version": "2025-11-25" };
  await post(headers, '{"jsonrpc":"2.0","method":"notifications/initialized"}');
  return headers;
}

const sessions = await Promise.all(Array.from({ length: concurrency }, openSession));

/** CPU µs per call of this process over one window of `era` calls. */
async function measure(era: ClientEra, ms: number): Promise<number> {
  let calls = 0;
  let stop = false;
  const timer = setTimeout(() => (stop = true), ms);
  const start = process.cpuUsage();
  await Promise.all(
    sessions.map(async (sessionHeaders, loop) => {
      for (let id = 1; !stop; id++) {
        const body =
          era === "legacy"
            ? `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}`
            : `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"},${MODERN_META}}}`;
        const answer = await post(era === "legacy" ? sessionHeaders : MODERN_HEADERS, body);
        if (calls === 0 && loop === 0 && !answer.includes('"result"')) throw new Error(`${era} call failed: ${answer.slice(0, 300)}`);
        calls++;
      }
    }),
  );
  clearTimeout(timer);
  const cpu = process.cpuUsage(start);
  return (cpu.user + cpu.system) / calls;
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
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(
    `in-process → stdio echo (Bun ${Bun.version}), ${pairs} pairs of ${windowMs} ms windows: ` +
      `legacy ${median(perCall.legacy).toFixed(2)} µs/call, modern ${median(perCall.modern).toFixed(2)}, median of the pairs' modern/legacy ${median(ratios).toFixed(3)}×`,
  );
} finally {
  await gateway.stop();
}
process.exit(0);
