import { ErrorCode, McpError } from "../protocol/mcp-values.ts";
import type { AuditContext, AuditEntry, AuditOutcome, Auditor } from "../audit/auditor.ts";
import type { Principal } from "../auth/principal.ts";
import type { RateLimiter } from "../limits/rate-limiter.ts";
import type { PolicyEngine } from "../policy/policy-engine.ts";
import { GatewayErrorCode, plainMessage } from "../protocol/gateway-errors.ts";
import type { Authorization } from "./authorize.ts";
import { limit } from "./limit.ts";
import { Refusal } from "./refusal.ts";
import type { CallTarget } from "./route.ts";

export interface AdmissionDeps {
  auditor: Auditor;
  policy: PolicyEngine;
  limiter: RateLimiter;
}

/** One call to admit, as its entry point (an MCP request, a REST job) knows it. */
export interface Admission<T extends CallTarget> {
  /** Who calls: stage 1, authentication, is done by the entry point (src/auth/request-context.ts). */
  principal: Principal;
  /** The method as limits see it (`tools/call` for a job). */
  method: string;
  /** Stage 2: where the call goes. Run inside admission, so that a routing error is audited like any refusal. */
  route(): T;
  /** Stage 3: the policy decision for the routed call; a Refusal when denied. */
  authorize(roles: string[], target: T): Authorization;
  /** What the audit records of the call, refused or admitted. */
  auditContext(roles: string[], target: T | undefined): AuditContext;
  /** Whether an admitted call gets a write-ahead record (calls to a tool, resource or prompt do). */
  audited: boolean;
  /** A last check after the limits, before the write-ahead record (a job: the tool exists). */
  beforeAudit?(target: T): Promise<void>;
  /** Which failures before forwarding are audited, and how; by default refusals and invalid params. */
  refusalOutcome?(err: unknown): AuditOutcome | undefined;
}

/** A call that may go ahead: forward it, then finish `entry` with its outcome. */
export interface Admitted<T extends CallTarget> {
  /** The token's roles and those granted to the subject in the database: what policy decided by, and what the audit names. */
  roles: string[];
  target: T;
  authorization: Authorization;
  /** The committed write-ahead record; undefined when the call is not audited. */
  entry: AuditEntry | undefined;
}

/**
 * The one admission path: every way a call enters (a 2025 session, a stateless 2026 request, MCP Tasks,
 * REST jobs, `mcpgw call`) passes these stages, in this order, before anything is forwarded or queued:
 *
 * 1. route     — resolves the backend and target, which policy and limits are about.
 * 2. authorize — before limits, so a denied call does not spend the caller's quota.
 * 3. limit     — before audit's write, so a refused call is audited as refused, not as attempted.
 * 4. audit     — the record is committed before the call goes on (write-ahead); the caller finishes it.
 *
 * A refusal at any stage is audited (one complete record), then rethrown for the caller to answer.
 */
export async function admit<T extends CallTarget>(deps: AdmissionDeps, call: Admission<T>): Promise<Admitted<T>> {
  const { auditor, policy, limiter } = deps;
  const principal = call.principal;
  const roles = principal.anonymous ? [] : policy.current.rolesOf(principal.subject, principal.roles);
  let target: T | undefined;
  let authorization: Authorization;
  try {
    target = call.route();
    authorization = call.authorize(roles, target);
    // Without rules nothing is counted or refused: the stage is skipped. With them, a decision the
    // limiter made at once (tokens in hand) is not awaited either.
    if (limiter.enforcing) {
      const waiting = limit(limiter, principal, roles, call.method, target);
      if (waiting) await waiting;
    }
    if (call.beforeAudit) await call.beforeAudit(target);
  } catch (err) {
    const outcome = (call.refusalOutcome ?? refusalOutcome)(err);
    if (outcome) await auditor.refuse(call.auditContext(roles, target), outcome);
    throw err;
  }
  const entry = call.audited ? await auditor.begin(call.auditContext(roles, target)) : undefined;
  return { roles, target, authorization, entry };
}

/** The audit outcome of a refusal before forwarding: a Refusal, or invalid params (as "invalid"); undefined for anything else. */
export function refusalOutcome(err: unknown): AuditOutcome | undefined {
  if (err instanceof Refusal) return failureOutcome(err);
  if (err instanceof McpError && err.code === ErrorCode.InvalidParams)
    return failureOutcome(new Refusal("invalid", err.code, err.message, err.data as Record<string, unknown>));
  return undefined;
}

/** The audit outcome of a failed or refused call. */
export function failureOutcome(err: unknown, cancelled = false): AuditOutcome {
  const code = (err as { code?: unknown }).code;
  const message = plainMessage(err);
  const errorCode = typeof code === "number" ? code : undefined;
  if (err instanceof Refusal)
    return {
      status: err.status,
      ...(errorCode !== undefined && { errorCode }),
      errorMessage: message,
      decision: err.status,
      ...(err.rule !== undefined && { rule: err.rule }),
    };
  // The definition guard refuses at the connection, after the write-ahead record: a refusal all the same.
  if (errorCode === GatewayErrorCode.DefinitionNotApproved) return { status: "denied", errorCode, errorMessage: message, decision: "denied", rule: "pinning" };
  const status = cancelled || errorCode === GatewayErrorCode.ShuttingDown ? "cancelled" : errorCode === GatewayErrorCode.BackendTimeout ? "timeout" : "error";
  return { status, ...(errorCode !== undefined && { errorCode }), errorMessage: message };
}
