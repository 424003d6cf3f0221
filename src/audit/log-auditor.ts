import type { Logger } from "../log/logger.ts";
import type { AuditContext, AuditEntry, AuditOutcome, Auditor } from "./auditor.ts";

/**
 * An Auditor that writes one log line per call (debug) and per refusal (info). Not durable and
 * not tamper-evident: the stand-in until the audit store lands (issue 6).
 */
export class LogAuditor implements Auditor {
  constructor(private readonly log: Logger) {}

  async begin(context: AuditContext): Promise<AuditEntry> {
    const started = performance.now();
    return {
      finish: (outcome) => {
        if (!this.log.isLevelEnabled("debug")) return;
        this.log.debug({ ...summary(context), ...outcome, ms: +(performance.now() - started).toFixed(2) }, "call");
      },
    };
  }

  async refuse(context: AuditContext, outcome: AuditOutcome): Promise<void> {
    this.log.info({ ...summary(context), ...outcome }, "call refused");
  }
}

function summary(context: AuditContext) {
  return { subject: context.subject, method: context.method, backend: context.backend, target: context.target, session: context.sessionId };
}
