import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { beginHash } from "../src/audit/chain-hash.ts";
import { executePrune, planPrune } from "../src/audit/prune.ts";
import { verifyAllChains, verifyChain } from "../src/audit/verify-chains.ts";
import { TestChain } from "./audit-repository.contract.ts";
import { AUDIT_STORES, type AuditStoreFixture } from "./helpers/audit-stores.ts";

/**
 * A chain of 9 events:
 *   seq 1 call a   2 call b   3 outcome a   4 refusal r1   5 outcome b   6 refusal r2   7 refusal r3   8 call c (open)   9 refusal r4
 */
async function buildChain(fixture: AuditStoreFixture): Promise<TestChain> {
  const chain = await new TestChain(fixture.store).open();
  await chain.append([
    { kind: "call", id: "a" },
    { kind: "call", id: "b" },
  ]);
  await chain.append([
    { kind: "outcome", id: "a" },
    { kind: "refusal", id: "r1" },
    { kind: "outcome", id: "b", status: "error" },
  ]);
  await chain.append([
    { kind: "refusal", id: "r2" },
    { kind: "refusal", id: "r3" },
    { kind: "call", id: "c" },
    { kind: "refusal", id: "r4" },
  ]);
  return chain;
}

/**
 * Records of both eras beside records that carry no protocol version (as written before it was
 * recorded):
 *   seq 1 call old (none)   2 call s (2025-06-18)   3 refusal m (2026-07-28)   4 outcome old   5 outcome s   6 refusal r (none)
 */
async function buildVersionedChain(fixture: AuditStoreFixture): Promise<TestChain> {
  const chain = await new TestChain(fixture.store).open();
  await chain.append([
    { kind: "call", id: "old" },
    { kind: "call", id: "s", protocolVersion: "2025-06-18" },
    { kind: "refusal", id: "m", protocolVersion: "2026-07-28" },
  ]);
  await chain.append([
    { kind: "outcome", id: "old" },
    { kind: "outcome", id: "s" },
    { kind: "refusal", id: "r" },
  ]);
  return chain;
}

for (const [label, setup] of AUDIT_STORES) {
  describe(`audit verify pinpoints the first break (${label})`, () => {
    let fixture: AuditStoreFixture | undefined;
    beforeAll(async () => {
      fixture = await setup();
    });
    afterAll(async () => fixture?.cleanup());

    /** A fresh chain per test, so each tampering is the only one. */
    const withChain = (name: string, body: (f: AuditStoreFixture, chain: TestChain) => Promise<void>) =>
      test(name, async (context) => {
        if (!fixture) return context.skip();
        await body(fixture, await buildChain(fixture));
      });

    withChain("an intact chain passes: every event checked, up to the head", async (f, chain) => {
      expect(await verifyChain(f.store.audit, chain.chainId)).toEqual({ chainId: chain.chainId, ok: true, events: 9, from: 0, to: 9 });
    });

    withChain("an altered argument is reported at that record", async (f, chain) => {
      await f.raw("UPDATE audit_events SET arguments = $1 WHERE chain_id = $2 AND seq = 2", ['{"text":"forged"}', chain.chainId]);
      expect((await verifyChain(f.store.audit, chain.chainId)).break).toMatchObject({
        seq: 2,
        problem: "altered",
        requestId: "b",
        detail: expect.stringMatching(/call record at seq 2 does not match its hash/),
      });
    });

    withChain("an altered outcome (error rewritten as ok) is reported at the outcome's event", async (f, chain) => {
      await f.raw("UPDATE audit_outcomes SET status = 'ok' WHERE chain_id = $1 AND call_seq = 2", [chain.chainId]);
      expect((await verifyChain(f.store.audit, chain.chainId)).break).toMatchObject({
        seq: 5,
        problem: "altered",
        requestId: "b",
        detail: expect.stringMatching(/outcome at seq 5/),
      });
    });

    withChain("a record rewritten with its hash recomputed is caught by the next link", async (f, chain) => {
      const [row] = await f.raw<Record<string, unknown>>("SELECT * FROM audit_events WHERE chain_id = $1 AND seq = 4", [chain.chainId]);
      const forged = { ...camel(row!), subject: "mallory" };
      const hash = beginHash(forged as never, String(row!.prev_hash));
      await f.raw("UPDATE audit_events SET subject = 'mallory', hash = $1 WHERE chain_id = $2 AND seq = 4", [hash, chain.chainId]);
      expect((await verifyChain(f.store.audit, chain.chainId)).break).toMatchObject({
        seq: 4,
        problem: "altered",
        detail: expect.stringMatching(/seq 4 is not the event seq 5 was chained to/),
      });
    });

    withChain("a deleted record is reported as the gap it leaves", async (f, chain) => {
      await f.raw("DELETE FROM audit_events WHERE chain_id = $1 AND seq = 4", [chain.chainId]);
      expect((await verifyChain(f.store.audit, chain.chainId)).break).toMatchObject({
        seq: 4,
        problem: "deleted",
        detail: "seq 4 is missing: records were deleted",
      });
    });

    withChain("a deleted call takes its begin and its outcome: the first gap is reported", async (f, chain) => {
      await f.raw("DELETE FROM audit_events WHERE chain_id = $1 AND request_id = 'a'", [chain.chainId]);
      expect((await verifyChain(f.store.audit, chain.chainId)).break).toMatchObject({ seq: 1, problem: "deleted" });
    });

    withChain("a deleted outcome event (the call then reads as pending) is reported as the gap it leaves", async (f, chain) => {
      await f.raw("DELETE FROM audit_outcomes WHERE chain_id = $1 AND seq = 5", [chain.chainId]);
      expect((await verifyChain(f.store.audit, chain.chainId)).break).toMatchObject({ seq: 5, problem: "deleted" });
    });

    withChain("a call's outcome added to its record's own row is caught (the record shows an outcome never chained)", async (f, chain) => {
      await f.raw("UPDATE audit_events SET status = 'ok', finished_at = 1, outcome_seq = 10 WHERE chain_id = $1 AND request_id = 'c'", [chain.chainId]);
      expect((await verifyChain(f.store.audit, chain.chainId)).ok).toBe(false);
    });

    withChain("deleting the newest records is caught by the chain head", async (f, chain) => {
      await f.raw("DELETE FROM audit_events WHERE chain_id = $1 AND seq >= 8", [chain.chainId]);
      expect((await verifyChain(f.store.audit, chain.chainId)).break).toMatchObject({
        seq: 8,
        problem: "deleted",
        detail: expect.stringMatching(/seq 8–9 missing: the newest records/),
      });
    });

    withChain("two records whose seq were swapped are reported as reordered", async (f, chain) => {
      // Through a free value: UNIQUE (chain_id, seq) holds at every step.
      await f.raw("UPDATE audit_events SET seq = -6 WHERE chain_id = $1 AND seq = 6", [chain.chainId]);
      await f.raw("UPDATE audit_events SET seq = 6 WHERE chain_id = $1 AND seq = 7", [chain.chainId]);
      await f.raw("UPDATE audit_events SET seq = 7 WHERE chain_id = $1 AND seq = -6", [chain.chainId]);
      expect((await verifyChain(f.store.audit, chain.chainId)).break).toMatchObject({
        seq: 6,
        problem: "reordered",
        requestId: "r3",
        detail: expect.stringMatching(/refusal at seq 6 was written as seq 7/),
      });
    });

    withChain("an outcome edited onto a call still in flight is caught", async (f, chain) => {
      await f.raw("UPDATE audit_events SET status = 'ok', finished_at = 1 WHERE chain_id = $1 AND request_id = 'c'", [chain.chainId]);
      expect((await verifyChain(f.store.audit, chain.chainId)).break).toMatchObject({
        seq: 8,
        problem: "altered",
        detail: expect.stringMatching(/no outcome was ever chained/),
      });
    });

    withChain("a deleted chain head is reported", async (f, chain) => {
      await f.raw("DELETE FROM audit_chains WHERE chain_id = $1", [chain.chainId]);
      expect((await verifyChain(f.store.audit, chain.chainId)).break).toMatchObject({ problem: "no-head" });
    });

    withChain("prune leaves a checkpoint, so verify passes from it; a forged checkpoint is caught", async (f, chain) => {
      // All but c (open at seq 8) finished "before now + 1s": seq 1–7 can go.
      const before = Date.now() + 1_000;
      const steps = (await planPrune(f.store.audit, before)).filter((step) => step.chainId === chain.chainId);
      expect(steps).toEqual([{ chainId: chain.chainId, fromSeq: 0, toSeq: 7, records: 5 }]);
      expect(await executePrune(f.store.audit, steps, before, Date.now())).toEqual({ chains: 1, records: 5 });
      expect(await verifyChain(f.store.audit, chain.chainId)).toMatchObject({ ok: true, from: 7, to: 9, events: 2 });
      // The chain keeps growing after a prune.
      await chain.append([{ kind: "outcome", id: "c" }]);
      expect(await verifyChain(f.store.audit, chain.chainId)).toMatchObject({ ok: true, from: 7, to: 10, events: 3 });
      await f.raw("UPDATE audit_checkpoints SET hash = $1 WHERE chain_id = $2", ["0".repeat(64), chain.chainId]);
      expect((await verifyChain(f.store.audit, chain.chainId)).break).toMatchObject({ seq: 7, problem: "altered" });
    });

    withChain("prune refuses to remove a broken segment, and removes nothing", async (f, chain) => {
      await f.raw("UPDATE audit_events SET target = 'other' WHERE chain_id = $1 AND seq = 6", [chain.chainId]);
      const steps = (await planPrune(f.store.audit, Date.now() + 1_000)).filter((step) => step.chainId === chain.chainId);
      await expect(executePrune(f.store.audit, steps, Date.now() + 1_000, Date.now())).rejects.toThrow(/broken at seq 6 .*nothing was pruned/);
      expect(await f.store.audit.countUpTo(chain.chainId, 100)).toBe(7);
    });

    test("records with a protocol version verify beside records without one", async (context) => {
      if (!fixture) return context.skip();
      const chain = await buildVersionedChain(fixture);
      expect(await verifyChain(fixture.store.audit, chain.chainId)).toEqual({ chainId: chain.chainId, ok: true, events: 6, from: 0, to: 6 });
    });

    test.each([
      ["edited", "UPDATE audit_events SET protocol_version = '2025-03-26' WHERE chain_id = $1 AND request_id = 's'", 2, "call record"],
      ["cleared", "UPDATE audit_events SET protocol_version = NULL WHERE chain_id = $1 AND request_id = 'm'", 3, "refusal"],
      [
        "added to a record written without one",
        "UPDATE audit_events SET protocol_version = '2026-07-28' WHERE chain_id = $1 AND request_id = 'old'",
        1,
        "call record",
      ],
    ])("a protocol version %s in the database is reported at that record", async (_, sql, seq, what) => {
      if (!fixture) return;
      const chain = await buildVersionedChain(fixture);
      await fixture.raw(sql, [chain.chainId]);
      expect((await verifyChain(fixture.store.audit, chain.chainId)).break).toMatchObject({
        seq,
        problem: "altered",
        detail: `the ${what} at seq ${seq} does not match its hash: its content was changed`,
      });
    });

    test("verifyAllChains reports every chain, broken or not", async (context) => {
      if (!fixture) return context.skip();
      const good = await buildChain(fixture);
      const bad = await buildChain(fixture);
      await fixture.raw("UPDATE audit_events SET method = 'tools/list' WHERE chain_id = $1 AND seq = 1", [bad.chainId]);
      const reports = await verifyAllChains(fixture.store.audit);
      expect(reports.find((r) => r.chainId === good.chainId)?.ok).toBe(true);
      expect(reports.find((r) => r.chainId === bad.chainId)?.break).toMatchObject({ seq: 1, problem: "altered" });
    });
  });
}

/** A raw snake_case row as the repository's camelCase AuditRow. */
function camel(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row))
    out[key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())] = typeof value === "bigint" ? Number(value) : value;
  for (const key of ["seq", "ts", "bytesIn", "finishedAt"]) if (typeof out[key] === "string") out[key] = Number(out[key]);
  return out;
}
