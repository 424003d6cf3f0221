import { formatDuration } from "../config/duration.ts";
import { GatewayErrorCode } from "../protocol/gateway-errors.ts";
import { formatRate } from "../limits/limit-rule.ts";
import type { LimitDecision, RateLimiter } from "../limits/rate-limiter.ts";
import type { Principal } from "../auth/principal.ts";
import { Refusal } from "./refusal.ts";
import type { CallTarget } from "./route.ts";

/**
 * Stage 4: rate limits and quotas. A refusal says which rule, and when to retry (also in its data,
 * in ms and s). Returns a promise only when the limiter had to wait for the store; otherwise it
 * has decided already (and thrown if refused), so the hot path awaits nothing.
 */
export function limit(limiter: RateLimiter, principal: Principal, roles: readonly string[], method: string, plan: CallTarget): Promise<void> | undefined {
  const decision = limiter.check({
    subject: principal.subject,
    roles,
    method,
    ...(plan.backend !== undefined && { backend: plan.backend }),
    ...(plan.kind === "tool" && plan.target !== undefined && { tool: plan.target }),
  });
  if (decision instanceof Promise) return decision.then((settled) => enforce(settled, principal));
  enforce(decision, principal);
  return undefined;
}

function enforce(decision: LimitDecision, principal: Principal): void {
  if (decision.allowed) return;
  const { rule, retryAfterMs } = decision;
  const scope = rule.scope === "global" ? "all callers together" : `"${principal.subject}"`;
  const rate = formatRate(rule);
  throw new Refusal(
    "rate_limited",
    GatewayErrorCode.RateLimited,
    `rate limited: ${scope} may make ${rate}${rule.toolPattern ? ` calls to ${rule.toolPattern}` : " calls"} (rule ${rule.id}); retry in ${formatDuration(retryAfterMs)}`,
    { retryAfterMs, retryAfter: Math.ceil(retryAfterMs / 1_000), rule: rule.id, limit: rule.count, periodMs: rule.periodMs, burst: rule.burst },
    rule.id,
  );
}
