/**
 * A minimal MCP client session over Streamable HTTP (2025-era, "legacy"), just enough for the load
 * generator: initialize (keeping Mcp-Session-Id), notifications/initialized, tools/call, DELETE.
 * mcp-modern-client.ts is its stateless 2026-07-28 counterpart.
 * Responses may come as application/json or as a text/event-stream; both are handled.
 * Hand-rolled instead of the SDK client so that the load generator's own cost per call stays small.
 */

const CLIENT_PROTOCOL_VERSION = "2025-11-25";
const CLIENT_INFO = { name: "mcpgw-bench-load", version: "1.0.0" };

/** A JSON-RPC response as received; only the fields the bench checks. */
export interface RpcResponse {
  id?: unknown;
  result?: { content?: Array<{ type?: string; text?: string }> } & Record<string, unknown>;
  error?: { code?: number; message?: string };
}

/** A failed exchange: HTTP status (0 for network/protocol failures) and what went wrong. */
export class McpHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "McpHttpError";
  }
}

export interface SessionOptions {
  url: string;
  /** Aborts every request of this session (the load generator's hard stop). */
  signal: AbortSignal;
  /** Sent as `Authorization: Bearer …` when given. */
  bearerToken?: string;
}

/** One client session against one Streamable HTTP endpoint. Not safe for concurrent calls. */
export class McpHttpSession {
  private readonly baseHeaders: Record<string, string>;
  /** baseHeaders plus the session and protocol version headers once initialized. */
  private headers: Record<string, string>;
  private nextId = 1;
  sessionId: string | undefined;
  protocolVersion = CLIENT_PROTOCOL_VERSION;

  constructor(private readonly options: SessionOptions) {
    this.baseHeaders = {
      accept: "application/json, text/event-stream",
      "content-type": "application/json",
      ...(options.bearerToken !== undefined && { authorization: `Bearer ${options.bearerToken}` }),
    };
    this.headers = this.baseHeaders;
  }

  /** Opens the session: initialize + notifications/initialized; afterwards every request carries the session and version headers. */
  async open(): Promise<void> {
    this.sessionId = undefined;
    this.headers = this.baseHeaders;
    const id = this.nextId++;
    const params = { protocolVersion: CLIENT_PROTOCOL_VERSION, capabilities: {}, clientInfo: CLIENT_INFO };
    const response = await this.post({ jsonrpc: "2.0", id, method: "initialize", params });
    const message = await readResponse(response, id);
    if (message.error !== undefined) throw new McpHttpError(response.status, `initialize failed: ${message.error.message ?? JSON.stringify(message.error)}`);
    const negotiated = message.result?.protocolVersion;
    if (typeof negotiated !== "string") throw new McpHttpError(response.status, "initialize result has no protocolVersion");
    this.protocolVersion = negotiated;
    this.sessionId = response.headers.get("mcp-session-id") ?? undefined;
    // Rebuilt once per session so each call reuses one headers object.
    this.headers = {
      ...this.baseHeaders,
      "mcp-protocol-version": negotiated,
      ...(this.sessionId !== undefined && { "mcp-session-id": this.sessionId }),
    };
    const initialized = await this.post({ jsonrpc: "2.0", method: "notifications/initialized" });
    if (initialized.status !== 202 && initialized.status !== 200) {
      throw new McpHttpError(initialized.status, `notifications/initialized answered HTTP ${initialized.status}: ${await bodyExcerpt(initialized)}`);
    }
    await initialized.body?.cancel();
  }

  /** tools/call; resolves with the JSON-RPC response whose id matches the request. */
  async callTool(name: string, args: Record<string, unknown>): Promise<RpcResponse> {
    const id = this.nextId++;
    const response = await this.post({ jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: args } });
    return readResponse(response, id);
  }

  /** Ends the session (DELETE); failures are ignored, a peer may not support it. */
  async close(): Promise<void> {
    if (this.sessionId === undefined) return;
    try {
      const response = await fetch(this.options.url, { method: "DELETE", headers: this.headers, signal: AbortSignal.timeout(2000) });
      await response.body?.cancel();
    } catch {
      // The session is abandoned either way.
    }
  }

  private post(message: unknown): Promise<Response> {
    return fetch(this.options.url, { method: "POST", headers: this.headers, body: JSON.stringify(message), signal: this.options.signal });
  }
}

/** Reads the response to request `id` from a JSON body or an SSE stream; throws McpHttpError on anything else. */
export async function readResponse(response: Response, id: number): Promise<RpcResponse> {
  if (response.status !== 200) throw new McpHttpError(response.status, `HTTP ${response.status}: ${await bodyExcerpt(response)}`);
  const contentType = response.headers.get("content-type") ?? "";
  let message: RpcResponse;
  if (contentType.startsWith("application/json")) message = (await response.json()) as RpcResponse;
  else if (contentType.startsWith("text/event-stream")) message = await readSseResponse(response, id);
  else throw new McpHttpError(response.status, `unexpected content-type "${contentType}"`);
  if (message?.id !== id) throw new McpHttpError(response.status, `response id ${JSON.stringify(message?.id)} does not match request id ${id}`);
  return message;
}

/**
 * Parses SSE events until the one carrying the response to `id`. Other messages on the stream
 * (progress, logging, server→client requests) are skipped. The rest of the stream is drained in
 * the background so the connection can return to the pool without delaying the caller.
 */
async function readSseResponse(response: Response, id: number): Promise<RpcResponse> {
  if (response.body === null) throw new McpHttpError(response.status, "empty event stream");
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) throw new McpHttpError(response.status, `event stream ended without a response to id ${id}`);
    buffer += decoder.decode(value, { stream: true });
    if (buffer.includes("\r")) buffer = buffer.replace(/\r\n?/g, "\n");
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = eventData(event);
      // No data, or empty data: a priming event (2025-11-25 resumability) or a keep-alive.
      if (data === undefined || data === "") continue;
      const message = JSON.parse(data) as RpcResponse & { method?: unknown };
      if (message.id === id && message.method === undefined) {
        void drain(reader);
        return message;
      }
    }
  }
}

/** The joined `data:` lines of one SSE event, or undefined when it has none. */
function eventData(event: string): string | undefined {
  let data: string | undefined;
  for (const line of event.split("\n")) {
    if (!line.startsWith("data:")) continue;
    const value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
    data = data === undefined ? value : `${data}\n${value}`;
  }
  return data;
}

// A server SHOULD close the POST stream after the response; one that keeps it open is cut off here.
const DRAIN_LIMIT_MS = 5000;

async function drain(reader: { read(): Promise<{ done: boolean }>; cancel(): Promise<void> }): Promise<void> {
  const timer = setTimeout(() => void reader.cancel().catch(() => undefined), DRAIN_LIMIT_MS);
  try {
    while (!(await reader.read()).done);
  } catch {
    // Cancelled or reset: nothing left to read.
  } finally {
    clearTimeout(timer);
  }
}

async function bodyExcerpt(response: Response): Promise<string> {
  try {
    const text = (await response.text()).replace(/\s+/g, " ").trim();
    return text.length > 160 ? `${text.slice(0, 160)}…` : text || "(empty body)";
  } catch {
    return "(unreadable body)";
  }
}
