import { McpError } from "../protocol/mcp-values.ts";
import { GatewayErrorCode } from "../protocol/gateway-errors.ts";

/** JSON-RPC code of a call refused because its audit record could not be committed (one registry: GatewayErrorCode). */
export const AUDIT_UNAVAILABLE_CODE = GatewayErrorCode.AuditUnavailable;

/**
 * The error a caller gets when the audit store cannot commit and the gateway fails closed: the
 * call was not forwarded. It says nothing about the database (that is for logs and /readyz).
 */
export class AuditUnavailableError extends McpError {
  constructor() {
    super(
      AUDIT_UNAVAILABLE_CODE,
      "the audit log is unavailable, so the call was not forwarded (this gateway refuses calls it cannot record); try again shortly",
      { retryable: true },
    );
  }
}

/** Another process appended to (or ended) this chain, or some outcomes' calls are no longer pending. */
export class AuditChainConflictError extends Error {
  constructor(
    message: string,
    /** Begin seqs of calls whose outcome could not be written because they are no longer pending. */
    readonly notPending: number[] = [],
  ) {
    super(message);
    this.name = "AuditChainConflictError";
  }
}
