import { McpError } from "../protocol/mcp-values.ts";
import type { AuditStatus } from "../audit/auditor.ts";

/**
 * A call refused by a pipeline stage (policy, limits, validation). It is a JSON-RPC error for the
 * client and an audit record with the status and rule; the pipeline writes the record.
 */
export class Refusal extends McpError {
  constructor(
    readonly status: Extract<AuditStatus, "denied" | "rate_limited" | "invalid" | "unauthenticated">,
    code: number,
    message: string,
    data?: Record<string, unknown>,
    /** The rule that decided, for the audit record. */
    readonly rule?: string,
  ) {
    super(code, message, data);
  }
}
