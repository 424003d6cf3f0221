/**
 * A minimal MCP 2026-07-28 ("modern") client over Streamable HTTP, just enough for the load
 * generator: no session and no initialize; every request is a POST whose `_meta` carries the
 * protocol version, client capabilities and client info (as the SDK v2 client sends them on
 * every request), mirrored in the `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` headers.
 * Answers are read as JSON or SSE by the same code as the legacy session's.
 */
import { McpHttpError, type RpcResponse, readResponse } from "./mcp-http-client.ts";

const MODERN_PROTOCOL_VERSION = "2026-07-28";
const CLIENT_META = {
  "io.modelcontextprotocol/protocolVersion": MODERN_PROTOCOL_VERSION,
  "io.modelcontextprotocol/clientCapabilities": {},
  "io.modelcontextprotocol/clientInfo": { name: "mcpgw-bench-load", version: "1.0.0" },
};

export interface ModernClientOptions {
  url: string;
  /** Aborts every request of this client (the load generator's hard stop). */
  signal: AbortSignal;
  /** Sent as `Authorization: Bearer …` when given. */
  bearerToken?: string;
}

/** One stateless client against one Streamable HTTP endpoint. Not safe for concurrent calls (ids). */
export class McpModernClient {
  /** The headers of a tools/call per tool name, built on first use so each call reuses one object, like the legacy session. */
  private readonly callHeaders = new Map<string, Record<string, string>>();
  private nextId = 1;

  constructor(private readonly options: ModernClientOptions) {}

  /** Nothing to do: a modern client has no session to open. Here so the load generator drives both eras alike. */
  async open(): Promise<void> {}

  /** tools/call; resolves with the JSON-RPC response whose id matches the request, which must be a complete result. */
  async callTool(name: string, args: Record<string, unknown>): Promise<RpcResponse> {
    const id = this.nextId++;
    const body = JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: args, _meta: CLIENT_META } });
    const response = await fetch(this.options.url, { method: "POST", headers: this.headersFor(name), body, signal: this.options.signal });
    const message = await readResponse(response, id);
    // 2026-07-28 results say whether they are complete; anything else (input_required, say) is not an echo.
    if (message.result !== undefined && message.result.resultType !== "complete") {
      throw new McpHttpError(response.status, `result is not complete (resultType ${JSON.stringify(message.result.resultType)})`);
    }
    return message;
  }

  /** Nothing to end: the server keeps no state for a modern client. */
  async close(): Promise<void> {}

  private headersFor(tool: string): Record<string, string> {
    let headers = this.callHeaders.get(tool);
    if (headers === undefined) {
      headers = {
        accept: "application/json, text/event-stream",
        "content-type": "application/json",
        "mcp-protocol-version": MODERN_PROTOCOL_VERSION,
        "mcp-method": "tools/call",
        // Tool names outside printable ASCII go base64-encoded (2026-07-28 transports/streamable-http).
        "mcp-name": /^[\x20-\x7e]*$/.test(tool) ? tool : `=?base64?${Buffer.from(tool, "utf8").toString("base64")}?=`,
        ...(this.options.bearerToken !== undefined && { authorization: `Bearer ${this.options.bearerToken}` }),
      };
      this.callHeaders.set(tool, headers);
    }
    return headers;
  }
}
