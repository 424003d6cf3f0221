/**
 * The values the gateway takes from the MCP SDK's `types.js` at start (error codes, McpError, the
 * protocol versions, the logging levels), defined here so that an idle gateway never loads the SDK:
 * importing `types.js` builds hundreds of zod schemas, 13 MB of an idle gateway's RSS
 * (docs/deployment.md, "Footprint"). The SDK is loaded when the first session or backend
 * connection needs it (src/protocol/sdk-loader.ts). Types still come from the SDK (`import type`
 * costs nothing at run time). test/mcp-values.test.ts checks every value here against the SDK's.
 */
import type { LoggingLevel } from "@modelcontextprotocol/sdk/types.js";

/** The SDK's ErrorCode enum: JSON-RPC's codes and the SDK's own. */
export const ErrorCode = {
  ConnectionClosed: -32000,
  RequestTimeout: -32001,
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  UrlElicitationRequired: -32042,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const LATEST_PROTOCOL_VERSION = "2025-11-25";
export const SUPPORTED_PROTOCOL_VERSIONS = [LATEST_PROTOCOL_VERSION, "2025-06-18", "2025-03-26", "2024-11-05", "2024-10-07"];

const LOGGING_LEVELS: readonly LoggingLevel[] = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"];

/** The two members of the SDK's LoggingLevelSchema (a zod enum) the gateway uses: the levels by severity, and a check. */
export const LoggingLevelSchema = {
  options: LOGGING_LEVELS,
  safeParse(value: unknown): { success: true; data: LoggingLevel } | { success: false } {
    return LOGGING_LEVELS.includes(value as LoggingLevel) ? { success: true, data: value as LoggingLevel } : { success: false };
  },
};

/**
 * An MCP error, built as the SDK's McpError is (same message, code, data and name). `instanceof
 * McpError` is also true of the SDK's own McpErrors (what its Client and transports throw), so
 * code that checks for one never needs to know which class made it. Subclasses keep the ordinary check.
 */
export class McpError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(`MCP error ${code}: ${message}`);
    this.name = "McpError";
  }

  /**
   * The SDK's factory, for errors a backend answered with. The SDK's makes a UrlElicitationRequiredError
   * (its subclass) of -32042 with elicitations: same code, message and data, which is all the gateway relays.
   */
  static fromError(code: number, message: string, data?: unknown): McpError {
    return new McpError(code, message, data);
  }

  // `this` is the class instanceof was asked about: McpError or a subclass (which keeps the ordinary check).
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    return this === McpError && value instanceof Error && value.name === "McpError" && typeof (value as { code?: unknown }).code === "number";
  }
}
