import type { AuditEntry, Auditor } from "./auditor.ts";

const NOTHING: AuditEntry = { finish: () => undefined };
// Settled promises made once: begin is on every call's path.
const BEGUN = Promise.resolve(NOTHING);
const DONE = Promise.resolve();

/**
 * The Auditor of MCPGW_AUDIT=off: records nothing. For development and for measuring what the
 * audit log costs (npm run bench); a gateway in production keeps the audit log on.
 */
export class NoAuditor implements Auditor {
  begin(): Promise<AuditEntry> {
    return BEGUN;
  }

  refuse(): Promise<void> {
    return DONE;
  }

  record(): Promise<void> {
    return DONE;
  }
}
