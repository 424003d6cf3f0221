/**
 * The echo MCP server's JSON-RPC logic, shared by the HTTP and stdio fronts of the bench.
 * Deliberately hand-rolled (no SDK, no validation beyond what routing needs) so the server
 * costs next to nothing and the bench measures whatever sits in front of it.
 */

export const SUPPORTED_PROTOCOL_VERSIONS = ["2025-11-25", "2025-06-18", "2025-03-26"] as const;
const LATEST_PROTOCOL_VERSION = SUPPORTED_PROTOCOL_VERSIONS[0];

type JsonRpcId = string | number;

/** One parsed JSON-RPC message; only the fields the echo server looks at. */
export interface JsonRpcMessage {
  jsonrpc?: unknown;
  id?: JsonRpcId | null;
  method?: unknown;
  params?: Record<string, unknown>;
}

export type JsonRpcResponse =
  | { jsonrpc: "2.0"; id: JsonRpcId | null; result: unknown }
  | { jsonrpc: "2.0"; id: JsonRpcId | null; error: { code: number; message: string } };

const SERVER_INFO = { name: "mcpgw-bench-echo", version: "1.0.0" };

// Built once: tools/list returns the same object on every call.
const TOOLS_LIST_RESULT = {
  tools: [
    {
      name: "echo",
      description: "Returns its text argument unchanged.",
      inputSchema: { type: "object", properties: { text: { type: "string" } } },
    },
  ],
};

/** True for a JSON-RPC request (has a method and an id); notifications and responses get no answer. */
export function isRequest(message: JsonRpcMessage): boolean {
  return typeof message.method === "string" && message.id !== undefined && message.id !== null;
}

/** Answers one JSON-RPC request. Call only for requests (see isRequest). */
export function answer(message: JsonRpcMessage): JsonRpcResponse {
  const id = message.id ?? null;
  switch (message.method) {
    case "initialize": {
      const requested = message.params?.protocolVersion;
      const protocolVersion = (SUPPORTED_PROTOCOL_VERSIONS as readonly unknown[]).includes(requested) ? (requested as string) : LATEST_PROTOCOL_VERSION;
      return { jsonrpc: "2.0", id, result: { protocolVersion, capabilities: { tools: {} }, serverInfo: SERVER_INFO } };
    }
    case "ping":
      return { jsonrpc: "2.0", id, result: {} };
    case "tools/list":
      return { jsonrpc: "2.0", id, result: TOOLS_LIST_RESULT };
    case "tools/call": {
      const params = message.params ?? {};
      if (params.name !== "echo") return { jsonrpc: "2.0", id, error: { code: -32602, message: `unknown tool: ${String(params.name)}` } };
      const args = (params.arguments ?? {}) as { text?: unknown };
      const text = typeof args.text === "string" ? args.text : "";
      return { jsonrpc: "2.0", id, result: { content: [{ type: "text", text }] } };
    }
    default:
      return { jsonrpc: "2.0", id, error: { code: -32601, message: `method not found: ${String(message.method)}` } };
  }
}
