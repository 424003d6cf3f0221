/**
 * Facts of MCP 2026-07-28 that the front (serving modern clients) and the backends (calling modern
 * servers) share: one list, so the two sides cannot drift apart.
 */

/** The stateless revision: the version the gateway speaks to modern backends and serves to modern clients. */
export const MODERN_VERSION = "2026-07-28";

/** The reserved `_meta` keys (basic/index). */
export const META = {
  protocolVersion: "io.modelcontextprotocol/protocolVersion",
  clientCapabilities: "io.modelcontextprotocol/clientCapabilities",
  clientInfo: "io.modelcontextprotocol/clientInfo",
  logLevel: "io.modelcontextprotocol/logLevel",
  serverInfo: "io.modelcontextprotocol/serverInfo",
  subscriptionId: "io.modelcontextprotocol/subscriptionId",
} as const;

/** The revision's own error codes (basic/index, "Error Codes"). */
export const ModernErrorCode = {
  HeaderMismatch: -32020,
  MissingRequiredClientCapability: -32021,
  UnsupportedProtocolVersion: -32022,
} as const;

/** The methods whose Mcp-Name header mirrors a body field (streamable-http; tasks/*: the tasks extension), and which field. */
export const MIRRORED_NAME_FIELD: Readonly<Record<string, string>> = {
  "tools/call": "name",
  "prompts/get": "name",
  "resources/read": "uri",
  "tasks/get": "taskId",
  "tasks/update": "taskId",
  "tasks/cancel": "taskId",
};
