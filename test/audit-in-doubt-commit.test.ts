import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { AuditUnavailableError } from "../src/audit/audit-errors.ts";
import type { AuditRepository } from "../src/audit/audit-repository.ts";
import { AUDIT_DEFAULTS } from "../src/audit/audit-settings.ts";
import type { AuditContext } from "../src/audit/auditor.ts";
import { StoreAuditor } from "../src/audit/store-auditor.ts";
import { verifyAllChains } from "../src/audit/verify-chains.ts";
import { StoreUnavailableError } from "../src/errors.ts";
import { createLogger } from "../src/log/logger.ts";
import { AUDIT_STORES, type AuditStoreFixture } from "./helpers/audit-stores.ts";
import { withAppend } from "./helpers/switchable-audit-repository.ts";

const RETRY_MS = 200;

/**
 * The repository as a database crash leaves it: one append is committed but its caller hears
 * "connection terminated" (the crash came between COMMIT and its answer), then every append fails
 * until the database is back.
 */
class CrashingRepository {
  crashOnNextAppend = false;
  down = false;
  /** When the first append after the database came back was tried (the retry that meets the moved head). */
  firstAppendAfterReturn: number | undefined;
  private returned = false;
  readonly repo: AuditRepository;

  constructor(inner: AuditRepository) {
    this.repo = withAppend(inner, async (write) => {
      if (this.down) throw new StoreUnavailableError("PostgreSQL at test is unreachable: connect ECONNREFUSED");
      if (this.returned) this.firstAppendAfterReturn ??= performance.now();
      await inner.append(write);
      if (this.crashOnNextAppend) {
        this.crashOnNextAppend = false;
        this.down = true;
        throw new StoreUnavailableError("PostgreSQL at test is unreachable: Connection terminated unexpectedly");
      }
    });
  }

  comeBack(): void {
    this.down = false;
    this.returned = true;
  }
}

function call(id: string): AuditContext {
  return { requestId: id, sessionId: "s", subject: "alice", roles: [], backend: "lab", target: "echo", method: "tools/call", arguments: { text: id } };
}

for (const [label, setup] of AUDIT_STORES) {
  describe(`a commit cut off by a database crash, written after all (${label})`, () => {
    let fixture: AuditStoreFixture | undefined;
    const auditors: StoreAuditor[] = [];

    beforeAll(async () => {
      fixture = await setup();
    });
    afterEach(async () => {
      await Promise.all(auditors.splice(0).map((a) => a.close(500).catch(() => undefined)));
    });
    afterAll(async () => fixture?.cleanup());

    test("the first retry after the database returns finds the commit written and goes on from it: calls flow at once on the same chain, the refused call's record says so, outcomes queued meanwhile land, the chain verifies", async (context) => {
      if (!fixture) return context.skip();
      const crashing = new CrashingRepository(fixture.store.audit);
      const settings = { ...AUDIT_DEFAULTS, instance: `doubt-${crypto.randomUUID().slice(0, 6)}` };
      const auditor = await StoreAuditor.start({ repository: crashing.repo, logger: createLogger({ level: "silent" }), settings, retryMs: RETRY_MS });
      auditors.push(auditor);
      const firstChain = auditor.chain;
      const forwarded = await auditor.begin(call("forwarded"));

      // One transaction holds the forwarded call's outcome and a new call's record; the crash cuts
      // off the answer to its COMMIT, so the new call is refused (never forwarded) though its record exists.
      crashing.crashOnNextAppend = true;
      forwarded.finish({ status: "ok" });
      await expect(auditor.begin(call("in-doubt"))).rejects.toBeInstanceOf(AuditUnavailableError);
      expect(auditor.health().available).toBe(false);

      await Bun.sleep(RETRY_MS * 1.5);
      crashing.comeBack();
      // The retry finds the head exactly where the commit it believed failed would have left it: that commit
      // was written, the chain goes on from it, and calls flow with that same retry, not one interval later.
      while (!auditor.health().available) await Bun.sleep(5);
      const resumedAfter = performance.now() - crashing.firstAppendAfterReturn!;
      expect(resumedAfter, "ms from the retry that met the moved head to calls flowing").toBeLessThan(RETRY_MS / 2);
      expect(auditor.chain).toBe(firstChain);
      const after = await auditor.begin(call("after"));
      after.finish({ status: "ok" });
      await auditor.idle();

      const rows = await fixture.store.audit.list({ filter: {}, limit: 10_000 });
      const byId = (id: string) => rows.filter((row) => row.requestId === id);
      // Written once, not again by the retry.
      expect(byId("forwarded")).toMatchObject([{ chainId: firstChain, status: "ok" }]);
      // Refused, never forwarded: its record says so rather than stay pending on a live chain.
      expect(byId("in-doubt")).toMatchObject([{ chainId: firstChain, status: "incomplete", errorMessage: expect.stringContaining("refused, not forwarded") }]);
      expect(byId("after")).toMatchObject([{ chainId: firstChain, status: "ok" }]);
      expect((await verifyAllChains(fixture.store.audit)).filter((r) => !r.ok)).toEqual([]);
    });
  });
}
