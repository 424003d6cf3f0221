import type { AuditEntry, Auditor } from "./auditor.ts";

const NOTHING: AuditEntry = { finish: () => undefined };

/**
 * The Auditor of MCPGW_AUDIT=off: records nothing. For development and for measuring what the
 * audit log costs (npm run bench); a gateway in production keeps the audit log on.
 */
export class NoAuditor implements Auditor {
  async begin(): Promise<AuditEntry> {
    return NOTHING;
  }

  async refuse(): Promise<void> {}

  async record(): Promise<void> {}
}
