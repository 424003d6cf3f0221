import { StreamableHTTPClientTransport, StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { TransportSendOptions } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { BACKEND_JSON_BUDGET, exceedsJsonBudget } from "../json/json-budget.ts";

export interface StreamableHttpTransportOptions {
  /** Sent on every request (the backend's configured headers, `${VAR}`s resolved). */
  headers: Record<string, string>;
  fetch: typeof fetch;
}

/** The SDK transport's own reader for a POST answered as an event stream (not public API; see below). */
type SseStreamHandler = (stream: ReadableStream<Uint8Array> | null, options: { onresumptiontoken?: (token: string) => void }, isReconnectable: boolean) => void;

/**
 * The SDK's Streamable HTTP client transport, with a lean path for the gateway's hot case: a
 * request on an initialised session. The SDK builds a Headers object per POST (awaiting an auth
 * provider the gateway never sets) and runs every JSON response through zod; in the benchmark's
 * profile those were a tenth of a relayed call. Here the headers are one object built once per
 * session, and a JSON response is handed on as parsed (the gateway relays results untouched).
 * A response as an event stream goes to the SDK's own stream reader; everything else
 * (initialize, notifications and responses, resumption, redirects, the GET stream, DELETE) is
 * the SDK's code unchanged. Should a later SDK drop the stream reader this relies on, every
 * message takes the SDK path.
 */
export class StreamableHttpTransport extends StreamableHTTPClientTransport {
  private readonly endpoint: URL;
  private readonly configuredHeaders: Record<string, string>;
  private readonly fetchFn: typeof fetch;
  /** Aborts POSTs still in flight when the transport closes. */
  private readonly posts = new AbortController();
  private postHeaders: Record<string, string> | undefined;
  /** The session and version postHeaders were built for. */
  private postHeadersSession = "";
  private postHeadersVersion: string | undefined;

  constructor(url: URL, options: StreamableHttpTransportOptions) {
    super(url, { requestInit: { headers: options.headers }, fetch: options.fetch });
    this.endpoint = url;
    this.fetchFn = options.fetch;
    // Lower-cased, so a configured "Content-Type" cannot sit beside the transport's own.
    this.configuredHeaders = Object.fromEntries(Object.entries(options.headers).map(([name, value]) => [name.toLowerCase(), value]));
  }

  override async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    const readStream = (this as unknown as { _handleSseStream?: SseStreamHandler })._handleSseStream;
    const sessionId = this.sessionId;
    if (options?.resumptionToken !== undefined || typeof readStream !== "function" || sessionId === undefined || !isRequest(message)) {
      return super.send(message, options);
    }
    try {
      const response = await this.fetchFn(this.endpoint, {
        method: "POST",
        headers: this.headersFor(sessionId),
        body: JSON.stringify(message),
        // A redirect is left to the SDK, which follows it only within the origin.
        redirect: "manual",
        signal: this.posts.signal,
      });
      if (response.status >= 300 && response.status < 400) {
        await response.body?.cancel();
        return super.send(message, options);
      }
      if (!response.ok) {
        const text = await response.text().catch(() => null);
        throw new StreamableHTTPError(response.status, `Error POSTing to endpoint: ${text}`);
      }
      const contentType = response.headers.get("content-type") ?? "";
      if (contentType.startsWith("application/json")) {
        const text = await response.text();
        const excess = exceedsJsonBudget(text, BACKEND_JSON_BUDGET);
        if (excess) {
          // The call this POST carried fails with the reason; the session goes on.
          this.onmessage?.({
            jsonrpc: "2.0",
            id: (message as { id: string | number }).id,
            error: { code: -32603, message: `the backend sent a message that is refused: ${excess.problem}` },
          });
          return;
        }
        const data = JSON.parse(text) as JSONRPCMessage | JSONRPCMessage[];
        for (const received of Array.isArray(data) ? data : [data]) {
          if (typeof received !== "object" || received === null)
            throw new StreamableHTTPError(-1, `the backend answered with JSON that is not a JSON-RPC message: ${JSON.stringify(received)}`);
          this.onmessage?.(received);
        }
        return;
      }
      if (contentType.startsWith("text/event-stream")) {
        readStream.call(this, response.body, { ...(options?.onresumptiontoken && { onresumptiontoken: options.onresumptiontoken }) }, false);
        return;
      }
      await response.body?.cancel();
      if (response.status === 202) return;
      throw new StreamableHTTPError(-1, `Unexpected content type: ${contentType}`);
    } catch (error) {
      this.onerror?.(error as Error);
      throw error;
    }
  }

  override async close(): Promise<void> {
    this.posts.abort();
    await super.close();
  }

  /** POST headers for the session, rebuilt only when the session or the negotiated version changes. */
  private headersFor(sessionId: string): Record<string, string> {
    const version = this.protocolVersion;
    if (this.postHeaders === undefined || this.postHeadersSession !== sessionId || this.postHeadersVersion !== version) {
      this.postHeaders = {
        "mcp-session-id": sessionId,
        ...(version !== undefined && { "mcp-protocol-version": version }),
        ...this.configuredHeaders,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      };
      this.postHeadersSession = sessionId;
      this.postHeadersVersion = version;
    }
    return this.postHeaders;
  }
}

function isRequest(message: JSONRPCMessage): boolean {
  return "method" in message && "id" in message && message.id !== undefined;
}
