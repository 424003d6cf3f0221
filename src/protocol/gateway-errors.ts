import { ErrorCode, McpError } from "../protocol/mcp-values.ts";
import { formatDuration } from "../config/duration.ts";

/**
 * JSON-RPC error codes the gateway itself answers with. -32000…-32099 is the range JSON-RPC leaves
 * to implementations; backend errors pass through with the backend's own code.
 */
export const GatewayErrorCode = {
  ParseError: ErrorCode.ParseError,
  InvalidRequest: ErrorCode.InvalidRequest,
  MethodNotFound: ErrorCode.MethodNotFound,
  InvalidParams: ErrorCode.InvalidParams,
  /** Same code the SDK uses for a request timeout. */
  BackendTimeout: ErrorCode.RequestTimeout,
  /** The backend could not be reached, crashed, or closed the connection. */
  BackendUnavailable: -32010,
  /** No such backend is registered (or it was removed). */
  UnknownBackend: -32011,
  /** The caller's roles do not allow the call (RBAC). */
  DeniedByPolicy: -32012,
  /** A rate limit or quota refused the call; data.retryAfterMs says when to retry. */
  RateLimited: -32013,
  /** The backend's concurrency cap and queue are full. */
  BackendBusy: -32014,
  /**
   * The audit record could not be committed, so the call was not forwarded (fail closed). It was
   * -32020 until MCP 2026-07-28 reserved -32020…-32099 for the specification (-32020 is its header
   * mismatch); every gateway code stays in -32010…-32019, the range left to implementations.
   */
  AuditUnavailable: -32015,
  /** The gateway is shutting down and its drain bound passed: the call was cancelled at the backend. */
  ShuttingDown: -32016,
  /**
   * A session needs a process of its own at a stdio backend, and every process that backend may
   * have (MCPGW_MAX_PROCESSES_PER_BACKEND) is serving a call.
   */
  BackendProcessesBusy: -32017,
  /**
   * The tool or prompt's definition is not the one pinned for it (changed, new, or with suspicious
   * text under --suspicious block): refused until an operator approves it (mcpgw backend approve).
   */
  DefinitionNotApproved: -32018,
  /**
   * The backend takes a per-caller credential (docs/security.md "Credentials to backends") and none
   * could be made for this caller: no secret stored for the subject, no key to decrypt it, …
   * Nothing was sent to the backend, and no other identity was used instead.
   */
  CredentialUnavailable: -32019,
} as const;

/** `ownCap`: the cap is the backend's own (backend add --max-processes), not the gateway's MCPGW_MAX_PROCESSES_PER_BACKEND. */
export function backendProcessesBusy(backend: string, maxProcesses: number, ownCap = false): McpError {
  const setting = ownCap ? "its --max-processes" : "MCPGW_MAX_PROCESSES_PER_BACKEND";
  const raise = ownCap
    ? `raise it (mcpgw backend add ${backend} … --max-processes N, or limits.maxProcesses in mcpgw apply)`
    : "raise MCPGW_MAX_PROCESSES_PER_BACKEND";
  return new McpError(
    GatewayErrorCode.BackendProcessesBusy,
    `backend "${backend}" is at its cap of ${maxProcesses} processes (${setting}) and each one is serving a call: this session needs a process of its own there (it declared sampling, elicitation or roots); retry when a call ends, or ${raise}`,
    { backend, maxProcesses },
  );
}

export function shuttingDown(drainMs: number): McpError {
  return new McpError(
    GatewayErrorCode.ShuttingDown,
    `the gateway is shutting down and the call outlasted its ${formatDuration(drainMs)} drain bound (MCPGW_SHUTDOWN_TIMEOUT): it was cancelled; retry it`,
    { drainMs },
  );
}

export function backendTimeout(backend: string, timeoutMs: number): McpError {
  return new McpError(GatewayErrorCode.BackendTimeout, `backend "${backend}" timed out after ${formatDuration(timeoutMs)} (set --timeout on the backend)`, {
    backend,
    timeoutMs,
  });
}

/**
 * The caller gave the call up (notifications/cancelled, a closed request, a cancelled job) before the backend
 * answered; the backend was told. The code is the one the SDK's own cancellations carry (-32001).
 */
export function callCancelled(backend: string, reason: unknown): McpError {
  const why = reason === undefined ? "" : `: ${reason instanceof Error ? reason.message : String(reason)}`;
  return new McpError(ErrorCode.RequestTimeout, `the call to backend "${backend}" was cancelled by its caller${why}`, { backend, cancelled: true });
}

export function backendUnavailable(backend: string, what: string): McpError {
  return new McpError(GatewayErrorCode.BackendUnavailable, `backend "${backend}" is unavailable: ${what}`, { backend });
}

export function unknownBackend(backend: string): McpError {
  return new McpError(GatewayErrorCode.UnknownBackend, `there is no backend "${backend}"`, { backend, hint: "list them with: mcpgw backend list" });
}

/** A JSON-RPC error response body for errors answered before any session exists. */
export function jsonRpcErrorBody(code: number, message: string, id: string | number | null = null): unknown {
  return { jsonrpc: "2.0", id, error: { code, message } };
}

const SDK_PREFIX = /^MCP error -?\d+: /;

/**
 * An error's message as it belongs on the wire and in the audit log. The SDK's McpError prefixes
 * its message ("MCP error -32601: …") and the SDK sends `message` as the JSON-RPC error message,
 * so every hop would add a prefix: a relayed error would read "MCP error -32601: MCP error -32601: …".
 */
export function plainMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(SDK_PREFIX, "") || "Internal error";
}

/** The same error with its plain message, for rethrowing to the SDK (which sends `message` as is). */
export function withPlainMessage(err: unknown): unknown {
  if (err instanceof Error) err.message = plainMessage(err);
  return err;
}
