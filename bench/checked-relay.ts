/**
 * The checked reference relay: bench/reference-relay.ts (the least a Streamable HTTP → MCP relay can
 * do) plus the per-call work that mcpgw does even as a relay only (no authentication, audit or
 * limits) and that no production gateway can drop, each done with mcpgw's own function where it has
 * one, and done as cheaply as this file knows how:
 *
 * - the Host and Origin check (DNS rebinding: src/front/origin-guard.ts);
 * - Content-Type, Accept, the session id and MCP-Protocol-Version checked;
 * - the body read within its size and time bounds (src/http/body-reader.ts), its JSON budget scanned
 *   before it is parsed (src/json/json-budget.ts), the JSON-RPC shape checked;
 * - a call that `notifications/cancelled` or its time bound (src/http/deadline-queue.ts) gives up on,
 *   at once, telling a stdio backend;
 * - the backend's message scanned, parsed and checked before it is believed (a response cap over HTTP);
 * - the calls counter and the latency histogram (src/observability/metrics.ts).
 *
 * Nothing else: no request id, trace context, log line, pipeline, pinning, session objects, progress,
 * notifications or server-to-client requests. Its rows in `npm run bench` answer how close to the
 * reference relay a gateway that keeps those checks can get on this machine (bench/README.md).
 *
 *   bun bench/checked-relay.ts [--port N] (--stdio -- <command> [args…] | --http <backend URL>)
 *
 * Prints its endpoint URL once the backend is initialized, as the reference relay does.
 */
import { parseArgs } from "node:util";
import { openHttpBackendSession } from "./relay-handshake.ts";
import { createOriginGuard } from "../src/front/origin-guard.ts";
import { readBodyText } from "../src/http/body-reader.ts";
import { DeadlineQueue } from "../src/http/deadline-queue.ts";
import { BACKEND_JSON_BUDGET, JSON_BUDGET_DEFAULTS, exceedsJsonBudget } from "../src/json/json-budget.ts";
import { Counter, Histogram } from "../src/observability/metrics.ts";
import { SUPPORTED_PROTOCOL_VERSIONS } from "../src/protocol/mcp-values.ts";

const { values, positionals } = parseArgs({
  options: { port: { type: "string", default: "0" }, stdio: { type: "boolean", default: false }, http: { type: "string" } },
  allowPositionals: true,
});
if (values.stdio === (values.http !== undefined) || values.stdio === (positionals.length === 0)) {
  console.error("usage: bun bench/checked-relay.ts [--port N] (--stdio -- <command> [args…] | --http <backend URL>)");
  process.exit(2);
}

/** mcpgw's defaults: MCPGW_MAX_BODY_BYTES, MCPGW_BODY_TIMEOUT, a backend's timeout and response cap. */
const BODY_LIMITS = { maxBytes: 1024 * 1024, timeoutMs: 10_000 };
const CALL_TIMEOUT_MS = 60_000;
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const PROTOCOL_VERSION = "2025-11-25";
const VERSIONS = new Set(SUPPORTED_PROTOCOL_VERSIONS);
const INITIALIZE_PARAMS = { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: "mcpgw-bench-checked-relay", version: "1.0.0" } };
const JSON_HEADERS = { "content-type": "application/json" };

interface Message {
  jsonrpc?: unknown;
  id?: string | number | null;
  method?: string;
  params?: unknown;
  result?: unknown;
  error?: unknown;
}

/**
 * A call in flight, as the front gives it up: the backend's side sets `cancel`, the front calls it
 * (notifications/cancelled, or past the time bound). Cheaper than an AbortController and a listener.
 */
interface Call {
  cancel?: (reason: string) => void;
}

/** Sends one request to the backend; resolves with the backend's response, checked. */
type Forward = (message: Message, body: string, call: Call) => Promise<Message>;

const forward: Forward = values.stdio ? await stdioBackend(positionals) : await httpBackend(values.http!);
const sessions = new Set<string>();
const inFlight = new Map<string, Call>();
const deadlines = new DeadlineQueue();
const originRefusal = createOriginGuard({ allowedHosts: [], allowedOrigins: [] });
const calls = new Counter("calls_total", "calls", ["backend", "method", "target", "status"]);
const latency = new Histogram("call_duration_seconds", "latency", ["backend", "method"], LATENCY_BUCKETS);

const server = Bun.serve({ hostname: "127.0.0.1", port: Number(values.port), fetch: handle });
console.log(`http://127.0.0.1:${server.port}/mcp`);
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(0));

async function handle(request: Request): Promise<Response> {
  const refusal = originRefusal(request);
  if (refusal !== undefined) return refuse(403, -32000, refusal);
  const sessionId = request.headers.get("mcp-session-id") ?? "";
  if (request.method === "DELETE") {
    sessions.delete(sessionId);
    return new Response(null, { status: 200 });
  }
  if (request.method !== "POST") return new Response(null, { status: 405, headers: { allow: "POST, DELETE" } });
  if (!(request.headers.get("content-type") ?? "").startsWith("application/json")) return refuse(415, -32000, "Content-Type must be application/json");
  const accept = request.headers.get("accept") ?? "";
  if (!accept.includes("application/json") || !accept.includes("text/event-stream")) return refuse(406, -32000, "Accept must list JSON and SSE");
  const body = await readBodyText(request, BODY_LIMITS);
  if (typeof body !== "string") return refuse(body.status, -32000, body.reason);
  const excess = exceedsJsonBudget(body, JSON_BUDGET_DEFAULTS);
  if (excess) return refuse(400, -32600, excess.problem);
  let message: Message;
  try {
    message = JSON.parse(body) as Message;
  } catch {
    return refuse(400, -32700, "Parse error");
  }
  if (!isJsonRpcMessage(message)) return refuse(400, -32600, "not a JSON-RPC 2.0 message");
  if (message.method === "initialize") {
    const id = crypto.randomUUID();
    sessions.add(id);
    const result = { protocolVersion: PROTOCOL_VERSION, capabilities: { tools: {} }, serverInfo: { name: "checked-relay", version: "1.0.0" } };
    return new Response(JSON.stringify({ jsonrpc: "2.0", id: message.id, result }), { headers: { ...JSON_HEADERS, "mcp-session-id": id } });
  }
  if (sessionId === "") return refuse(400, -32000, "Mcp-Session-Id header is required");
  if (!sessions.has(sessionId)) return refuse(404, -32001, "Session not found");
  const version = request.headers.get("mcp-protocol-version");
  if (version !== null && !VERSIONS.has(version)) return refuse(400, -32000, `Unsupported MCP-Protocol-Version: ${version}`);
  if (message.id === undefined || message.method === undefined) {
    if (message.method === "notifications/cancelled")
      inFlight.get(`${sessionId} ${(message.params as { requestId?: unknown })?.requestId}`)?.cancel?.("cancelled");
    return new Response(null, { status: 202 });
  }
  return answer(sessionId, message as Message & { method: string }, body);
}

async function answer(sessionId: string, message: Message & { method: string }, body: string): Promise<Response> {
  const key = `${sessionId} ${message.id}`;
  const call: Call = {};
  inFlight.set(key, call);
  const deadline = deadlines.watch(CALL_TIMEOUT_MS, () => call.cancel?.("timed out"));
  const started = performance.now();
  let status = "ok";
  try {
    const response = await forward(message, body, call);
    const answered =
      "error" in response ? { jsonrpc: "2.0", id: message.id, error: response.error } : { jsonrpc: "2.0", id: message.id, result: response.result };
    return new Response(JSON.stringify(answered), { headers: JSON_HEADERS });
  } catch (err) {
    status = "error";
    return refuse(200, -32603, String(err), message.id);
  } finally {
    deadlines.release(deadline);
    inFlight.delete(key);
    const method = message.method;
    calls.inc(["echo", method, method === "tools/call" ? String((message.params as { name?: unknown })?.name) : "", status]);
    latency.observe(["echo", method], (performance.now() - started) / 1_000);
  }
}

function refuse(status: number, code: number, text: string, id: Message["id"] = null): Response {
  return new Response(JSON.stringify({ jsonrpc: "2.0", id, error: { code, message: text } }), { status, headers: JSON_HEADERS });
}

function isJsonRpcMessage(value: unknown): value is Message {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const message = value as Message;
  if (message.jsonrpc !== "2.0") return false;
  if (message.id !== undefined && typeof message.id !== "string" && typeof message.id !== "number") return false;
  if (message.method !== undefined && typeof message.method !== "string") return false;
  return message.params === undefined || (typeof message.params === "object" && message.params !== null);
}

/** A backend's message, believed only within the backend's JSON budget and as a response with a result object or an error. */
function checkedResponse(text: string): Message {
  const excess = exceedsJsonBudget(text, BACKEND_JSON_BUDGET);
  if (excess) throw new Error(`the backend sent a message that is refused: ${excess.problem}`);
  const response = JSON.parse(text) as Message;
  if (typeof response !== "object" || response === null || response.jsonrpc !== "2.0") throw new Error("malformed message from the backend");
  if (response.error === undefined && (typeof response.result !== "object" || response.result === null || Array.isArray(response.result)))
    throw new Error("the backend's response has no result object");
  return response;
}

/** One child shared by every session, requests renumbered, one write per event-loop turn (as the reference relay). */
async function stdioBackend(command: string[]): Promise<Forward> {
  const child = Bun.spawn(command, { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  const pending = new Map<number, { resolve(response: Message): void; reject(err: Error): void }>();
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
  const giveUp = (id: number, reason: string) => {
    const waiting = pending.get(id);
    if (waiting === undefined) return;
    pending.delete(id);
    write({ method: "notifications/cancelled", params: { requestId: id, reason } });
    waiting.reject(new Error(reason));
  };
  const request = (method: string | undefined, params: unknown, call?: Call) =>
    new Promise<Message>((resolve, reject) => {
      const id = nextId++;
      if (call !== undefined) call.cancel = (reason) => giveUp(id, reason);
      pending.set(id, { resolve, reject });
      write({ id, method, ...(params !== undefined && { params }) });
    });
  void (async () => {
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of child.stdout) {
      buffered += decoder.decode(chunk, { stream: true });
      let from = 0;
      for (let end = buffered.indexOf("\n"); end >= 0; end = buffered.indexOf("\n", from)) {
        const line = buffered.slice(from, end);
        from = end + 1;
        let response: Message;
        try {
          response = checkedResponse(line);
        } catch (err) {
          console.error(`checked relay: ${String(err)}`);
          continue;
        }
        const waiting = pending.get(response.id as number);
        pending.delete(response.id as number);
        waiting?.resolve(response);
      }
      buffered = buffered.slice(from);
    }
    console.error("checked relay: the stdio backend exited");
    process.exit(1);
  })();
  await request("initialize", INITIALIZE_PARAMS);
  write({ method: "notifications/initialized" });
  return (message, _body, call) => request(message.method, message.params, call);
}

/** One backend session; each request's body sent as it came (same ids: each POST has its own response). */
async function httpBackend(url: string): Promise<Forward> {
  const headers = await openHttpBackendSession(url, INITIALIZE_PARAMS);
  const answerOf = async (body: string): Promise<Message> => {
    const answer = await fetch(url, { method: "POST", headers, body });
    if (Number(answer.headers.get("content-length") ?? "NaN") > MAX_RESPONSE_BYTES) throw new Error("the backend's response is over the cap");
    return checkedResponse(await answer.text());
  };
  // As mcpgw does: a call given up on is answered at once, and its POST left to finish.
  return (_message, body, call) =>
    new Promise<Message>((resolve, reject) => {
      call.cancel = (reason) => reject(new Error(reason));
      answerOf(body).then(resolve, reject);
    });
}
