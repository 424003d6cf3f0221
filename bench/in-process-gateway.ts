/**
 * A gateway started in the bench's own process (the tests' composition root, test/helpers/gateway.ts) in front
 * of the stdio echo server as backend "echo", with its fetch handler taken as the gateway hands it to Bun.serve
 * (which still listens): the in-process measurements call it directly, with no HTTP or load generator between.
 * Used by era-cpu-in-process.ts and feature-cpu-in-process.ts.
 */
import { type TestGateway, type TestGatewayOptions, startTestGateway } from "../test/helpers/gateway.ts";
import { stdioEchoCommand } from "./peers.ts";

type Handler = (request: Request, server: unknown) => Response | Promise<Response>;

/** What the handler may ask of the server: no idle timeout for MCP streams, and the peer's address. */
const SERVER = { timeout() {}, requestIP: () => null };

export const BASE_HEADERS = { accept: "application/json, text/event-stream", "content-type": "application/json" };

export interface InProcessGateway {
  gateway: TestGateway;
  /** The echo backend's endpoint, /mcp/echo. */
  url: string;
  /** POSTs `body` to the endpoint through the gateway's fetch handler. */
  post(headers: Record<string, string>, body: string): Promise<Response>;
  /** A 2025 session (initialize, then notifications/initialized): the headers its calls carry. */
  openSession(headers?: Record<string, string>): Promise<Record<string, string>>;
}

/** `settings` are MCPGW_* values by their EnvSettings key, as startTestGateway takes them. */
export async function startInProcessGateway(settings: Record<string, string>, options: TestGatewayOptions = {}): Promise<InProcessGateway> {
  let handler: Handler | undefined;
  const serve = Bun.serve;
  (Bun as unknown as { serve: (options: { fetch: Handler }) => unknown }).serve = (serveOptions) => {
    handler = serveOptions.fetch;
    return serve(serveOptions as never);
  };
  let gateway: TestGateway;
  try {
    gateway = await startTestGateway([{ name: "echo", command: stdioEchoCommand() }], settings, options);
  } finally {
    (Bun as unknown as { serve: typeof serve }).serve = serve;
  }
  const fetchHandler = handler;
  if (fetchHandler === undefined) throw new Error("the gateway did not call Bun.serve");
  const url = gateway.mcpUrl("echo").toString();
  // With its Content-Length, as every client sends a body of known size: without one the gateway reads the body as a stream.
  const post = async (headers: Record<string, string>, body: string) =>
    fetchHandler(new Request(url, { method: "POST", headers: { ...headers, "content-length": String(Buffer.byteLength(body)) }, body }), SERVER);
  return {
    gateway,
    url,
    post,
    async openSession(headers = BASE_HEADERS) {
      const initialize = {
        jsonrpc: "2.0",
        id: 0,
        method: "initialize",
        params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "mcpgw-bench-load", version: "1.0.0" } },
      };
      const response = await post(headers, JSON.stringify(initialize));
      const session = response.headers.get("mcp-session-id");
      await response.text();
      if (session === null) throw new Error(`initialize was answered without a session (HTTP ${response.status})`);
      const sessionHeaders = { ...headers, "mcp-session-id": session, "mcp-protocol-version": "2025-11-25" };
      await (await post(sessionHeaders, '{"jsonrpc":"2.0","method":"notifications/initialized"}')).text();
      return sessionHeaders;
    },
  };
}

/**
 * CPU µs per call of this whole process over one window of `ms`: one closed loop per entry of `loops`, each
 * calling `call(loop, id)` (ids from 1) until the window ends. The first answer of the first loop is checked.
 */
export async function cpuPerCall<L>(ms: number, loops: readonly L[], call: (loop: L, id: number) => Promise<string>): Promise<number> {
  let calls = 0;
  let stop = false;
  const timer = setTimeout(() => (stop = true), ms);
  const start = process.cpuUsage();
  await Promise.all(
    loops.map(async (loop, index) => {
      for (let id = 1; !stop; id++) {
        const answer = await call(loop, id);
        if (calls === 0 && index === 0 && !answer.includes('"result"')) throw new Error(`call failed: ${answer.slice(0, 300)}`);
        calls++;
      }
    }),
  );
  clearTimeout(timer);
  const cpu = process.cpuUsage(start);
  return (cpu.user + cpu.system) / calls;
}
