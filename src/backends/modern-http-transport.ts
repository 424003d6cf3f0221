import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage, RequestId } from "@modelcontextprotocol/sdk/types.js";
import { BACKEND_JSON_BUDGET, exceedsJsonBudget } from "../json/json-budget.ts";
import { paramHeadersIn } from "./param-headers.ts";
import { MIRRORED_NAME_FIELD } from "../protocol/modern.ts";

export interface ModernHttpTransportOptions {
  /** Sent on every POST (the backend's configured headers, `${VAR}`s resolved). */
  headers: Record<string, string>;
  fetch: typeof fetch;
  /** The revision named in MCP-Protocol-Version (the same as each body's envelope). */
  protocolVersion: string;
  /** Largest message accepted on an event stream (JSON bodies are capped by the fetch). */
  maxMessageBytes: number;
}

/**
 * Streamable HTTP as MCP 2026-07-28 has it, for a backend that speaks it: no session; each
 * request is its own POST, with the headers that mirror its body (MCP-Protocol-Version,
 * Mcp-Method, Mcp-Name), answered as JSON or as an event stream of the request's notifications
 * (progress) ending with its response. Cancelling a request closes its POST (the spec's HTTP
 * cancellation), so the `notifications/cancelled` DirectRequests sends becomes an abort here; no
 * other client notification exists on this transport. Messages go to `onmessage` as they arrive,
 * so DirectRequests settles responses and progress as on any other transport; `send` resolves
 * when the POST's answer has been read, and throws when it carried no response.
 */
export class ModernHttpTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private readonly inFlight = new Map<RequestId, AbortController>();
  /** Configured headers, lower-cased, under the transport's own (which always win). */
  private readonly baseHeaders: Record<string, string>;
  private closed = false;

  constructor(
    private readonly url: URL,
    private readonly options: ModernHttpTransportOptions,
  ) {
    const configured = Object.fromEntries(Object.entries(options.headers).map(([name, value]) => [name.toLowerCase(), value]));
    this.baseHeaders = {
      ...configured,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": options.protocolVersion,
    };
  }

  async start(): Promise<void> {}

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.closed) throw new Error("the transport is closed");
    const raw = message as { id?: RequestId; method?: string; params?: Record<string, unknown> };
    if (raw.method === undefined) return; // a response: a modern server sends no requests to answer
    if (raw.id === undefined) {
      if (raw.method === "notifications/cancelled") this.abort(raw.params?.requestId as RequestId | undefined, raw.params?.reason);
      return;
    }
    const id = raw.id;
    const controller = new AbortController();
    this.inFlight.set(id, controller);
    try {
      const response = await this.options.fetch(this.url, {
        method: "POST",
        headers: this.headersFor(raw.method, raw.params),
        body: JSON.stringify(message),
        // Not followed: the configured headers (credentials, often) are for this URL only.
        redirect: "manual",
        signal: controller.signal,
      });
      await this.readAnswer(response, id, controller);
    } catch (err) {
      // Given up on (cancelled, timed out, transport closed): the caller was answered already.
      if (controller.signal.aborted) return;
      this.onerror?.(err as Error);
      throw err;
    } finally {
      this.inFlight.delete(id);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const controller of this.inFlight.values()) controller.abort(new Error("the backend connection closed"));
    this.inFlight.clear();
    this.onclose?.();
  }

  private abort(id: RequestId | undefined, reason: unknown): void {
    if (id === undefined) return;
    this.inFlight.get(id)?.abort(reason ?? new Error("cancelled"));
  }

  private headersFor(method: string, params: Record<string, unknown> | undefined): Record<string, string> {
    const field = MIRRORED_NAME_FIELD[method];
    const named = field === undefined ? undefined : params?.[field];
    const headers: Record<string, string> = {
      ...this.baseHeaders,
      "mcp-method": method,
      ...((typeof named === "string" || typeof named === "number") && { "mcp-name": headerValue(String(named)) }),
    };
    // Arguments the tool marks x-mcp-header, as the connection found them (param-headers.ts).
    const params_ = paramHeadersIn(params);
    if (params_) for (const [name, value] of Object.entries(params_)) headers[`mcp-param-${name.toLowerCase()}`] = headerValue(value);
    return headers;
  }

  /** Hands on what the POST answered; throws when the answer holds no response to request `id`. */
  private async readAnswer(response: Response, id: RequestId, controller: AbortController): Promise<void> {
    const contentType = response.headers.get("content-type") ?? "";
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel().catch(() => undefined);
      throw new StreamableHTTPError(
        response.status,
        `the backend redirects to ${response.headers.get("location") ?? "(no location)"}: register that URL instead`,
      );
    }
    if (contentType.startsWith("text/event-stream") && response.ok) {
      if (!(await this.readEvents(response.body, id, controller))) throw new Error("the backend closed the response stream before answering");
      return;
    }
    const text = await response.text();
    if (contentType.startsWith("application/json")) {
      const excess = exceedsJsonBudget(text, BACKEND_JSON_BUDGET);
      if (excess) return this.refuse(id, `the backend sent a message that is refused: ${excess.problem}`);
      const answer = parseJson(text) as { jsonrpc?: unknown; id?: unknown; result?: unknown; error?: unknown } | undefined;
      if (answer?.jsonrpc === "2.0" && (answer.result !== undefined || answer.error !== undefined)) {
        // A refusal before the server read the request (a 400 for a bad header, say) may carry id null: it is still this request's answer.
        this.onmessage?.({ ...answer, id: answer.id ?? id } as JSONRPCMessage);
        return;
      }
    }
    throw new StreamableHTTPError(
      response.ok ? -1 : response.status,
      response.ok ? `the backend answered without a JSON-RPC response (${contentType || "no content type"})` : `Error POSTing to endpoint: ${text}`,
    );
  }

  /**
   * Reads an event stream, handing on each message, until the response to `id` (then the stream is
   * closed: it has nothing more for this request). Returns whether that response came.
   */
  private async readEvents(body: ReadableStream<Uint8Array> | null, id: RequestId, controller: AbortController): Promise<boolean> {
    if (!body) return false;
    let answered = false;
    const max = this.options.maxMessageBytes;
    await readServerSentEvents(
      body,
      max,
      (data) => {
        if (data === undefined) {
          this.refuse(id, `the backend sent a message over the ${max}-byte cap (backend add --max-response)`);
          answered = true;
          return false;
        }
        const excess = exceedsJsonBudget(data, BACKEND_JSON_BUDGET);
        if (excess) {
          this.refuse(id, `the backend sent a message that is refused: ${excess.problem}`);
          answered = true;
          return false;
        }
        const message = parseJson(data) as (JSONRPCMessage & { id?: RequestId; method?: unknown }) | undefined;
        if (message === undefined) {
          this.onerror?.(new Error(`malformed message from the backend (not JSON): ${data.slice(0, 200)}`));
          return true;
        }
        this.onmessage?.(message);
        answered = message.method === undefined && message.id === id;
        return !answered;
      },
      controller.signal,
    );
    return answered;
  }

  /** Fails request `id` with the reason its answer was not handed on. */
  private refuse(id: RequestId, message: string): void {
    this.onerror?.(new Error(message));
    this.onmessage?.({ jsonrpc: "2.0", id, error: { code: -32603, message } });
  }
}

/**
 * A header value as 2026-07-28 mirrors it (streamable-http, "Value encoding"): as it is when it
 * is plain visible ASCII (spaces inside allowed) with no surrounding whitespace and does not
 * itself look encoded; otherwise `=?base64?<base64 of its UTF-8>?=`.
 */
export function headerValue(value: string): string {
  if (/^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/.test(value) && !/^=\?base64\?.*\?=$/.test(value)) return value;
  return `=?base64?${Buffer.from(value, "utf8").toString("base64")}?=`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Calls `onData` with the data of each `message` event of a text/event-stream (comments, ids
 * and retry fields ignored), or with undefined for an event larger than `max` characters (its
 * data is not kept); stops when `onData` returns false or `signal` aborts, and cancels the stream.
 */
async function readServerSentEvents(
  body: ReadableStream<Uint8Array>,
  max: number,
  onData: (data: string | undefined) => boolean,
  signal: AbortSignal,
): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const onAbort = () => void reader.cancel().catch(() => undefined);
  signal.addEventListener("abort", onAbort, { once: true });
  let buffered = "";
  let data: string[] = [];
  let size = 0;
  let event = "message";
  let going = true;
  try {
    while (going) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += decoder.decode(value, { stream: true });
      let from = 0;
      for (let end = nextLineEnd(buffered, 0); end >= 0 && going; end = nextLineEnd(buffered, from)) {
        const line = buffered.slice(from, end);
        from = end + (buffered.startsWith("\r\n", end) ? 2 : 1);
        if (line === "") {
          if (size > max) going = onData(undefined);
          else if (data.length > 0 && event === "message") going = onData(data.join("\n"));
          data = [];
          size = 0;
          event = "message";
          continue;
        }
        const colon = line.indexOf(":");
        if (colon === 0) continue; // a comment (keep-alive)
        const field = colon < 0 ? line : line.slice(0, colon);
        const fieldValue = colon < 0 ? "" : line.slice(line.startsWith(" ", colon + 1) ? colon + 2 : colon + 1);
        if (field === "data") {
          size += fieldValue.length;
          if (size <= max) data.push(fieldValue);
        } else if (field === "event") {
          event = fieldValue;
        }
      }
      buffered = buffered.slice(from);
      // An unterminated line past the cap is not kept whole: what it will add is over the cap anyway.
      if (buffered.length > max) {
        size += buffered.length;
        buffered = "";
        data = [];
      }
    }
  } catch (err) {
    if (!signal.aborted) throw err;
  } finally {
    signal.removeEventListener("abort", onAbort);
    if (!going) await reader.cancel().catch(() => undefined);
  }
}

function nextLineEnd(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // A \r at the very end may be the first half of \r\n: wait for the next chunk.
    if (c === 10 || (c === 13 && i + 1 < text.length)) return i;
  }
  return -1;
}
