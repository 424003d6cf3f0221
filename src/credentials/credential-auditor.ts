import type { AuditContext, AuditEntry, AuditOutcome, Auditor } from "../audit/auditor.ts";

/**
 * Names, in every audit record about a backend, the credential mode the call reaches it with
 * (static, gateway-assertion, per-subject-secret…): the mode only, never a value. A decorator at
 * the Auditor seam, which every call, job run and refusal passes, so no entry point can forget it.
 * `modeOf` answers for a registered backend, undefined for an unknown one (nothing is recorded then).
 */
export class CredentialNamingAuditor implements Auditor {
  constructor(
    private readonly inner: Auditor,
    private readonly modeOf: (backend: string) => string | undefined,
  ) {}

  begin(context: AuditContext): Promise<AuditEntry> {
    return this.inner.begin(this.named(context));
  }

  refuse(context: AuditContext, outcome: AuditOutcome): Promise<void> {
    return this.inner.refuse(this.named(context), outcome);
  }

  record(context: AuditContext, outcome: AuditOutcome): Promise<void> {
    return this.inner.record(context, outcome);
  }

  /** Named in place, not copied (every call passes here): a context is made for the one record it describes. */
  private named(context: AuditContext): AuditContext {
    if (context.backend === undefined || context.credential !== undefined) return context;
    const credential = this.modeOf(context.backend);
    if (credential !== undefined) context.credential = credential;
    return context;
  }
}
