import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { AUDITED_METHODS, type AuditOutcome, type Auditor } from "../audit/auditor.ts";
import type { Pipeline } from "./caller-session.ts";
import { GatewayErrorCode, plainMessage } from "../front/gateway-errors.ts";
import { auditContext } from "./audit.ts";
import { authenticate } from "./authenticate.ts";
import { authorize } from "./authorize.ts";
import { limit } from "./limit.ts";
import { Refusal } from "./refusal.ts";
import type { RateLimiter } from "../limits/rate-limiter.ts";
import type { PolicyEngine } from "../policy/policy-engine.ts";
import { route } from "./route.ts";
import { runAsCall } from "../credentials/call-context.ts";

export interface PipelineDeps {
  auditor: Auditor;
  policy: PolicyEngine;
  limiter: RateLimiter;
}

/**
 * The request pipeline: every client request a session does not answer itself (initialize and
 * ping are answered by the SDK) passes these stages, in this order:
 *
 * 1. authenticate — nothing is decided about an unknown caller.
 * 2. route        — resolves the backend and target, which policy and limits are about; no I/O.
 * 3. authorize    — before limits, so a denied call does not spend the caller's quota.
 * 4. limit        — before audit's write, so a refused call is audited as refused, not as attempted.
 * 5. audit        — the record is committed before forwarding (write-ahead) and finished after.
 * 6. forward      — the plan runs: the backend (or several, for aggregated lists) is called.
 *
 * A refusal at any stage (a Refusal thrown by it) is audited, then returned to the client.
 */
export function createPipeline(deps: PipelineDeps): Pipeline {
  const { auditor, policy, limiter } = deps;
  return async (session, request, extra) => {
    session.lastActivity = Date.now();
    const principal = authenticate(extra);
    // The token's roles and those granted to the subject in the database: what policy decides by, and what the audit names.
    const roles = principal.anonymous ? [] : policy.current.rolesOf(principal.subject, principal.roles);
    let plan;
    let authorization;
    try {
      plan = route(session, request, extra);
      authorization = authorize(policy.current, principal, roles, session, request, plan);
      // Without rules nothing is counted or refused: the stage is skipped. With them, a decision the
      // limiter made at once (tokens in hand) is not awaited either.
      if (limiter.enforcing) {
        const waiting = limit(limiter, principal, roles, request, plan);
        if (waiting) await waiting;
      }
    } catch (err) {
      const refusal = err instanceof Refusal ? err : err instanceof McpError && err.code === ErrorCode.InvalidParams ? new Refusal("invalid", err.code, err.message, err.data as Record<string, unknown>) : undefined;
      if (refusal) await auditor.refuse(auditContext(session, principal, roles, request, extra, plan), outcomeOf(refusal));
      throw err;
    }
    const entry = AUDITED_METHODS.has(request.method) ? await auditor.begin(auditContext(session, principal, roles, request, extra, plan)) : undefined;
    try {
      // In the call's context: a per-caller backend's credential is made for this call and checked against its caller.
      const result = await runAsCall({ id: crypto.randomUUID(), subject: principal.subject, roles }, () => plan.run());
      const decision = authorization.rule === undefined ? {} : { decision: "allowed", rule: authorization.rule };
      const round = session.exchange === undefined ? decision : { ...decision, exchange: session.exchange };
      entry?.finish(result.isError === true ? { status: "error", errorMessage: "the tool reported an error (isError)", ...round } : { status: "ok", ...round });
      return authorization.filter ? authorization.filter(result) : result;
    } catch (err) {
      const outcome = outcomeOf(err, extra.signal.aborted);
      entry?.finish(session.exchange === undefined ? outcome : { ...outcome, exchange: session.exchange });
      throw err;
    }
  };
}

/** The audit outcome of a failed or refused call. */
function outcomeOf(err: unknown, cancelled = false): AuditOutcome {
  const code = (err as { code?: unknown }).code;
  const message = plainMessage(err);
  const errorCode = typeof code === "number" ? code : undefined;
  if (err instanceof Refusal) return { status: err.status, ...(errorCode !== undefined && { errorCode }), errorMessage: message, decision: err.status, ...(err.rule !== undefined && { rule: err.rule }) };
  const status = cancelled || errorCode === GatewayErrorCode.ShuttingDown ? "cancelled" : errorCode === GatewayErrorCode.BackendTimeout ? "timeout" : "error";
  return { status, ...(errorCode !== undefined && { errorCode }), errorMessage: message };
}


