/**
 * The bench's reference relay: the least a Streamable HTTP → MCP relay can do, with none of a
 * gateway's work (no authentication, policy, limits, audit, metrics, logging, timeouts,
 * cancellation, notifications or server-to-client requests). Its rows are not a product: they
 * show, in the same run and on the same machine, how far any relay written on Bun can go, so
 * that a target out of reach for it is read as a limit of the machine, not of mcpgw.
 *
 *   bun bench/reference-relay.ts --port N --stdio -- <command> [args…]
 *   bun bench/reference-relay.ts --port N --http <backend URL>
 *
 * Front: POST and DELETE on Bun.serve (any path); initialize issues a session id (kept in a Set and checked on
 * every later POST), notifications get 202, requests get the backend's answer as JSON.
 * stdio backend: one child shared by all sessions, requests renumbered (the front's ids would
 * collide between sessions), one write per event-loop turn, lines parsed as they arrive.
 * HTTP backend: one backend session, each request's body passed on as it came and the backend's
 * answer passed back as text (same ids: each HTTP request has its own response).
 * Prints its endpoint URL once the backend is initialized, which is how bench/run.ts finds it.
 */
import { parseArgs } from "node:util";
import { openHttpBackendSession } from "./relay-handshake.ts";

const { values, positionals } = parseArgs({
  options: { port: { type: "string", default: "0" }, stdio: { type: "boolean", default: false }, http: { type: "string" } },
  allowPositionals: true,
});
if (values.stdio === (values.http !== undefined) || values.stdio === (positionals.length === 0)) {
  console.error("usage: bun bench/reference-relay.ts [--port N] (--stdio -- <command> [args…] | --http <backend URL>)");
  process.exit(2);
}

const PROTOCOL_VERSION = "2025-11-25";
const INITIALIZE_PARAMS = { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: "mcpgw-bench-reference-relay", version: "1.0.0" } };
const JSON_HEADERS = { "content-type": "application/json" };

interface Message {
  id?: string | number | null;
  method?: string;
  params?: unknown;
  result?: unknown;
  error?: unknown;
}

/** Sends one front request's body to the backend and resolves with the JSON-RPC response text to return. */
type Forward = (message: Message, body: string) => Promise<string>;

const forward: Forward = values.stdio ? await stdioBackend(positionals) : await httpBackend(values.http!);
const sessions = new Set<string>();

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: Number(values.port),
  async fetch(request) {
    if (request.method === "DELETE") {
      sessions.delete(request.headers.get("mcp-session-id") ?? "");
      return new Response(null, { status: 200 });
    }
    if (request.method !== "POST") return new Response(null, { status: 405, headers: { allow: "POST, DELETE" } });
    const body = await request.text();
    const message = JSON.parse(body) as Message;
    if (message.method === "initialize") {
      const sessionId = crypto.randomUUID();
      sessions.add(sessionId);
      const result = { protocolVersion: PROTOCOL_VERSION, capabilities: { tools: {} }, serverInfo: { name: "reference-relay", version: "1.0.0" } };
      return new Response(JSON.stringify({ jsonrpc: "2.0", id: message.id, result }), { headers: { ...JSON_HEADERS, "mcp-session-id": sessionId } });
    }
    if (!sessions.has(request.headers.get("mcp-session-id") ?? "")) return new Response(null, { status: 404 });
    if (message.id === undefined || message.method === undefined) return new Response(null, { status: 202 });
    return new Response(await forward(message, body), { headers: JSON_HEADERS });
  },
});
console.log(`http://127.0.0.1:${server.port}/mcp`);
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(0));

async function stdioBackend(command: string[]): Promise<Forward> {
  const child = Bun.spawn(command, { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  const pending = new Map<number, (response: Message) => void>();
  let nextId = 1;
  let flushScheduled = false;
  const write = (message: Message) => {
    child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", ...message })}\n`);
    if (flushScheduled) return;
    flushScheduled = true;
    setImmediate(() => {
      flushScheduled = false;
      void child.stdin.flush();
    });
  };
  const request = (method: string | undefined, params: unknown) =>
    new Promise<Message>((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      write({ id, method, ...(params !== undefined && { params }) });
    });
  void (async () => {
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of child.stdout) {
      buffered += decoder.decode(chunk, { stream: true });
      let from = 0;
      for (let end = buffered.indexOf("\n"); end >= 0; end = buffered.indexOf("\n", from)) {
        const response = JSON.parse(buffered.slice(from, end)) as Message;
        from = end + 1;
        const resolve = pending.get(response.id as number);
        pending.delete(response.id as number);
        resolve?.(response);
      }
      buffered = buffered.slice(from);
    }
    console.error("reference relay: the stdio backend exited");
    process.exit(1);
  })();
  await request("initialize", INITIALIZE_PARAMS);
  write({ method: "notifications/initialized" });
  return async (message) => {
    const response = await request(message.method, message.params);
    return JSON.stringify({ jsonrpc: "2.0", id: message.id, ...("error" in response ? { error: response.error } : { result: response.result }) });
  };
}

async function httpBackend(url: string): Promise<Forward> {
  const headers = await openHttpBackendSession(url, INITIALIZE_PARAMS);
  return async (_message, body) => (await fetch(url, { method: "POST", headers, body })).text();
}
