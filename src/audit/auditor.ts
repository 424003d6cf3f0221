/** What an audit record says about a call. */
export type AuditStatus = "ok" | "error" | "denied" | "rate_limited" | "unauthenticated" | "invalid" | "timeout" | "cancelled" | "incomplete";

/** Who made which call: known before the call is forwarded. */
export interface AuditContext {
  requestId?: string;
  sessionId?: string;
  /** The MCP protocol version of the call: the session's negotiated version for a 2025-era session, the request's own for a stateless 2026-07-28 request. */
  protocolVersion?: string;
  subject?: string;
  roles?: string[];
  clientName?: string;
  clientVersion?: string;
  backend?: string;
  /** The tool, resource URI or prompt, as the backend names it. */
  target?: string;
  method: string;
  /** Tool arguments or request params; redacted and size-capped by the auditor before writing. */
  arguments?: unknown;
  bytesIn?: number;
  /** The credential mode the call reaches its backend with (static, gateway-assertion, per-subject-secret…): never a value. */
  credential?: string;
}

/** How the call ended. */
export interface AuditOutcome {
  status: AuditStatus;
  errorCode?: number;
  errorMessage?: string;
  bytesOut?: number;
  /** The policy decision and the rule that made it, for refusals and allowed calls alike. */
  decision?: string;
  rule?: string;
  /** The input_required exchange the call is a round of (MCP 2026-07-28 clients), when it is one. */
  exchange?: string;
  /** Which per-caller credential the call's backend request carried: its id, never its value (CallContext.credentialId). */
  credentialId?: string;
}

export interface AuditEntry {
  /** Records the outcome (committed asynchronously; a crash before it leaves the record incomplete). */
  finish(outcome: AuditOutcome): void;
}

/**
 * The audit seam. The pipeline calls begin() before forwarding a call that reaches a tool, a
 * resource or a prompt, and refuse() for every refusal; record() is for what is neither.
 */
export interface Auditor {
  /** Write-ahead: resolves once the record is committed; rejects when it cannot be (the call must not be forwarded). */
  begin(context: AuditContext): Promise<AuditEntry>;
  /** Records a refused call as one complete record. */
  refuse(context: AuditContext, outcome: AuditOutcome): Promise<void>;
  /**
   * Records an event that is not a call, as one complete record of kind "event": a change made
   * through the admin API, a pin transition. Resolves once it is committed; like a refusal's, it
   * never fails (the change was made; a record the store cannot take yet stays queued).
   */
  record(context: AuditContext, outcome: AuditOutcome): Promise<void>;
}

/** Methods whose calls get an audit record (refusals of any method get one too). */
export const AUDITED_METHODS: ReadonlySet<string> = new Set(["tools/call", "resources/read", "prompts/get"]);
