import { hostname, userInfo } from "node:os";
import type { AuditOutcome } from "../src/audit/auditor.ts";
import { cliInstance } from "../src/audit/chain-identity.ts";
import { StoreAuditor } from "../src/audit/store-auditor.ts";
import { OPERATOR_CLIENT_NAME } from "../src/operator-calls/operator-caller.ts";
import type { Store } from "../src/store/store.ts";
import type { CommandContext } from "./context.ts";

/** Something an operator did through the CLI in database mode, for the audit log (the admin API audits its own). */
export interface OperatorEvent {
  /** Who did it: operatorName(--by). */
  by: string;
  backend: string;
  target: string;
  method: string;
  arguments: unknown;
  /** A call's id it concerns (a job's), so the record is found beside that call's own. */
  requestId?: string;
  outcome: AuditOutcome;
}

/** Who runs the command, for the audit log: --by, else the operating-system user. */
export function operatorName(by: string | undefined): string {
  if (by) return by;
  try {
    return userInfo().username || "unknown";
  } catch {
    return "unknown";
  }
}

/**
 * Writes each event as one complete record of kind "event", on a chain of the CLI's own
 * (instance `cli.<host>`), committed before this returns. Nothing is written when audit is off.
 */
export async function auditOperatorEvents(context: CommandContext, store: Store, events: readonly OperatorEvent[]): Promise<void> {
  if (events.length === 0 || !context.settings.audit.enabled) return;
  const instance = cliInstance(context.settings.audit.instance, hostname());
  const auditor = await StoreAuditor.start({ repository: store.audit, logger: context.adminLogger(), settings: { ...context.settings.audit, instance } });
  try {
    for (const event of events) {
      await auditor.record(
        {
          subject: event.by,
          clientName: OPERATOR_CLIENT_NAME,
          backend: event.backend,
          target: event.target,
          method: event.method,
          arguments: event.arguments,
          ...(event.requestId !== undefined && { requestId: event.requestId }),
        },
        event.outcome,
      );
    }
  } finally {
    await auditor.close();
  }
}
