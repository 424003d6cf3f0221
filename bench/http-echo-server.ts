/**
 * The bench's echo MCP server over Streamable HTTP: Bun.serve and raw JSON-RPC, always answering
 * with application/json (never SSE). Listens on 127.0.0.1 at `--port N` (default: a free port)
 * and prints its endpoint URL as the first line of stdout, which is how bench/run.ts finds it.
 *
 *   bun bench/http-echo-server.ts [--port N]
 */
import { parseArgs } from "node:util";
import { type JsonRpcMessage, answer, isRequest } from "./echo-protocol.ts";

const ENDPOINT = "/mcp";

const { values } = parseArgs({ options: { port: { type: "string", default: "0" } } });

// Session ids this server issued and has not seen deleted. A Set lookup per call is cheap, and
// checking sessions keeps the server honest enough that a relay dropping the header is caught.
const sessions = new Set<string>();

const JSON_HEADERS = { "content-type": "application/json" };

function jsonRpcError(status: number, message: string): Response {
  return new Response(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32600, message } }), { status, headers: JSON_HEADERS });
}

async function handlePost(request: Request): Promise<Response> {
  let message: JsonRpcMessage;
  try {
    message = (await request.json()) as JsonRpcMessage;
  } catch {
    return new Response(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32700, message: "parse error" } }), { status: 400, headers: JSON_HEADERS });
  }
  if (message === null || typeof message !== "object" || Array.isArray(message)) {
    return jsonRpcError(400, "expected one JSON-RPC message (batches are not supported since 2025-06-18)");
  }

  if (message.method === "initialize") {
    const sessionId = crypto.randomUUID();
    sessions.add(sessionId);
    return new Response(JSON.stringify(answer(message)), { headers: { ...JSON_HEADERS, "mcp-session-id": sessionId } });
  }

  const sessionId = request.headers.get("mcp-session-id");
  if (sessionId === null) return jsonRpcError(400, "missing Mcp-Session-Id header");
  if (!sessions.has(sessionId)) return jsonRpcError(404, "unknown session");

  // Notifications (notifications/initialized among them) and client responses: accepted, no body.
  if (!isRequest(message)) return new Response(null, { status: 202 });
  return new Response(JSON.stringify(answer(message)), { headers: JSON_HEADERS });
}

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: Number(values.port),
  async fetch(request) {
    const { pathname } = new URL(request.url);
    if (pathname !== ENDPOINT) return new Response("not found", { status: 404 });
    switch (request.method) {
      case "POST":
        return handlePost(request);
      case "GET":
        // No server→client stream: the echo server never sends anything unprompted.
        return new Response("method not allowed", { status: 405, headers: { allow: "POST, DELETE" } });
      case "DELETE": {
        const sessionId = request.headers.get("mcp-session-id");
        if (sessionId !== null) sessions.delete(sessionId);
        return new Response(null, { status: 200 });
      }
      default:
        return new Response("method not allowed", { status: 405, headers: { allow: "POST, GET, DELETE" } });
    }
  },
});

process.stdout.write(`http://127.0.0.1:${server.port}${ENDPOINT}\n`);

for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(0));
