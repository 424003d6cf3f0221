import type { Request } from "@modelcontextprotocol/sdk/types.js";
import type { Logger } from "../log/logger.ts";
import type { Principal } from "./principal.ts";
import type { RoutePlan } from "./route.ts";

export interface AuditEntry {
  /** Records the outcome once the call ends. */
  finish(outcome: { ok: true } | { ok: false; error: unknown }): void;
}

/**
 * Stage 4: the audit record, written before the call is forwarded. Until the audit log lands
 * (issue 6) the record is a debug log line with the call's outcome and duration.
 */
export async function auditStart(log: Logger, principal: Principal, request: Request, plan: RoutePlan): Promise<AuditEntry> {
  const started = performance.now();
  return {
    finish(outcome) {
      if (!log.isLevelEnabled("debug")) return;
      log.debug(
        {
          subject: principal.subject,
          method: request.method,
          backend: plan.backend,
          target: plan.target,
          ok: outcome.ok,
          ms: +(performance.now() - started).toFixed(2),
          ...(!outcome.ok && { error: String((outcome.error as Error)?.message ?? outcome.error) }),
        },
        "call",
      );
    },
  };
}
