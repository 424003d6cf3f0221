import type { AuditAppend, AuditRepository } from "../../src/audit/audit-repository.ts";
import { StoreUnavailableError } from "../../src/errors.ts";

/** The repository with its append replaced by `append` (which may call the inner one); everything else unchanged. */
export function withAppend(inner: AuditRepository, append: (write: AuditAppend) => Promise<void>): AuditRepository {
  return new Proxy(inner, { get: (target, key, receiver) => (key === "append" ? append : Reflect.get(target, key, receiver)) });
}

/** An audit repository with a switch: while `down`, every append fails as an unreachable database would. */
export class SwitchableRepository {
  down = false;
  /** Appends whose records include this target fail on their own (a record the database refuses). */
  poisonTarget: string | undefined;
  /** The request ids of the records committed so far. */
  readonly committed = new Set<string>();
  readonly repo: AuditRepository;

  constructor(inner: AuditRepository) {
    this.repo = withAppend(inner, async (write) => {
      if (this.down) throw new StoreUnavailableError("PostgreSQL at test is unreachable: connection refused");
      const poisoned = this.poisonTarget !== undefined && write.records.some((row) => row.target === this.poisonTarget);
      if (poisoned) throw new Error("value too long for type character varying(1)");
      await inner.append(write);
      for (const row of write.records) if (row.requestId) this.committed.add(row.requestId);
    });
  }
}
