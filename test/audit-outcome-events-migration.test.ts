import { cpSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { AuditRow } from "../src/audit/audit-record.ts";
import type { AuditAppend } from "../src/audit/audit-repository.ts";
import { AuditRowBuilder } from "../src/audit/audit-row.ts";
import { genesisHash } from "../src/audit/chain-hash.ts";
import { type ChainItem, type Head, type PendingRecord, sealBatch } from "../src/audit/chain-seal.ts";
import { executePrune, planPrune } from "../src/audit/prune.ts";
import { createRedactor } from "../src/audit/redact.ts";
import { markUnfinishedCalls } from "../src/audit/unfinished-calls.ts";
import { verifyChain } from "../src/audit/verify-chains.ts";
import { openStore } from "../src/store/open-store.ts";
import type { Store } from "../src/store/store.ts";
import { TestChain } from "./audit-repository.contract.ts";
import { createLogger } from "../src/log/logger.ts";
import { BOTH_STORES, type StoreFixture } from "./helpers/store-fixtures.ts";
import { tempDir } from "./helpers/temp-dir.ts";

/**
 * Migration 0012 (outcomes as appended events): a database written by the previous release (a
 * call's outcome an UPDATE of its record) migrates in place, its chains still verify, and its
 * records read, follow, get marked and prune beside the new ones.
 */

const ROOT = join(import.meta.dirname, "..");
const rows = new AuditRowBuilder(createRedactor({ keys: [], maxArgumentBytes: 4_096 }));

/** The migrations of the previous release: everything before 0012. */
function previousMigrations(): { path: string; remove(): void } {
  const dir = tempDir("mcpgw-migrations-0011-");
  for (const dialect of ["sqlite", "postgres"]) {
    cpSync(join(ROOT, "migrations", dialect), join(dir.path, dialect), { recursive: true });
    for (const name of ["0012_audit_outcome_events.sql"]) rmSync(join(dir.path, dialect, name));
  }
  return dir;
}

const LEGACY_COLUMNS = [
  ["chainId", "chain_id"],
  ["seq", "seq"],
  ["prevHash", "prev_hash"],
  ["hash", "hash"],
  ["kind", "kind"],
  ["ts", "ts"],
  ["requestId", "request_id"],
  ["sessionId", "session_id"],
  ["subject", "subject"],
  ["roles", "roles"],
  ["clientName", "client_name"],
  ["clientVersion", "client_version"],
  ["backend", "backend"],
  ["target", "target"],
  ["method", "method"],
  ["arguments", "arguments"],
  ["bytesIn", "bytes_in"],
  ["status", "status"],
  ["errorCode", "error_code"],
  ["errorMessage", "error_message"],
  ["durationMs", "duration_ms"],
  ["bytesOut", "bytes_out"],
  ["decision", "decision"],
  ["rule", "rule"],
  ["finishedAt", "finished_at"],
  ["protocolVersion", "protocol_version"],
] as const satisfies readonly (readonly [keyof AuditRow, string])[];

/** Writes an append exactly as the previous release did: records INSERTed, each outcome an UPDATE of its record. */
async function legacyAppend(fixture: StoreFixture, write: AuditAppend): Promise<void> {
  const raw = fixture.raw.bind(fixture);
  await raw("UPDATE audit_chains SET head_seq = $1, head_hash = $2, heartbeat_at = $3, ended_at = $4 WHERE chain_id = $5 AND head_seq = $6", [
    write.head.seq,
    write.head.hash,
    write.at,
    write.end ? write.at : null,
    write.chainId,
    write.fromSeq,
  ]);
  for (const row of write.records) {
    await raw(
      `INSERT INTO audit_events (${LEGACY_COLUMNS.map(([, c]) => c).join(", ")}) VALUES (${LEGACY_COLUMNS.map((_, i) => `$${i + 1}`).join(", ")})`,
      LEGACY_COLUMNS.map(([field]) => row[field]),
    );
  }
  for (const o of write.outcomes) {
    await raw(
      `UPDATE audit_events SET status = $1, error_code = $2, error_message = $3, duration_ms = $4, bytes_out = $5, decision = $6, rule = $7,
         finished_at = $8, outcome_seq = $9, outcome_prev_hash = $10, outcome_hash = $11, exchange = $12
       WHERE chain_id = $13 AND seq = $14 AND status = 'pending'`,
      [
        o.status,
        o.errorCode,
        o.errorMessage,
        o.durationMs,
        o.bytesOut,
        o.decision,
        o.rule,
        o.finishedAt,
        o.outcomeSeq,
        o.outcomePrevHash,
        o.outcomeHash,
        o.exchange,
        write.chainId,
        o.seq,
      ],
    );
  }
}

/** A chain written by the previous release: call a (ok), refusal r, call b (error), call c (still open: its gateway was killed). */
async function writeLegacyChain(fixture: StoreFixture, old: Store, chainId: string, at: number): Promise<void> {
  let head: Head = { seq: 0, hash: genesisHash(chainId) };
  await old.audit.createChain({
    chainId,
    instance: "old",
    host: "old-host",
    pid: 1,
    startedAt: at,
    heartbeatAt: at,
    endedAt: null,
    headSeq: 0,
    headHash: head.hash,
  });
  const call = (id: string): PendingRecord => ({
    row: rows.call({ requestId: id, subject: "alice", backend: "lab", target: "echo", method: "tools/call", arguments: { id } }, at),
  });
  const [a, b, c] = [call("a"), call("b"), call("c")];
  const refusal: PendingRecord = {
    row: rows.refusal({ requestId: "r", subject: "bob", backend: "lab", target: "echo", method: "tools/call" }, { status: "denied", errorMessage: "no" }, at),
  };
  const batches: ChainItem[][] = [
    [
      { type: "record", record: a },
      { type: "record", record: refusal },
      { type: "record", record: b },
    ],
    [
      { type: "outcome", record: a, fields: rows.outcome({ status: "ok", bytesOut: 12 }, 3, at + 1) },
      { type: "record", record: c },
      { type: "outcome", record: b, fields: rows.outcome({ status: "error", errorCode: -32000, errorMessage: "boom" }, 4, at + 2) },
    ],
  ];
  for (const items of batches) {
    const { append } = sealBatch(chainId, head, items, at);
    await legacyAppend(fixture, append);
    head = append.head;
  }
}

for (const [label, setup] of BOTH_STORES) {
  describe(`migration 0012: audit outcomes as appended events (${label})`, () => {
    let fixture: StoreFixture | undefined;
    const legacy = `old.${crypto.randomUUID().slice(0, 8)}`;
    const at = Date.now() - 60 * 60_000;

    beforeAll(async () => {
      fixture = await setup("audit_mig");
      if (!fixture) return;
      const migrations = previousMigrations();
      const old = openStore(fixture.url, { migrationsDir: migrations.path, ...(label === "postgres" && { poolSize: 2 }) });
      try {
        await old.migrate();
        await writeLegacyChain(fixture, old, legacy, at);
      } finally {
        await old.close();
        migrations.remove();
      }
      expect(await fixture.store.migrate()).toEqual(["0012_audit_outcome_events"]);
    });
    afterAll(async () => fixture?.cleanup());

    const run = (name: string, body: (f: StoreFixture) => Promise<void>) =>
      test(name, async (context) => {
        if (!fixture) return context.skip();
        await body(fixture);
      });

    run("nothing is moved: the previous release's records read as before, and their chain still verifies", async (f) => {
      expect(await f.raw("SELECT * FROM audit_outcomes WHERE chain_id = $1", [legacy])).toEqual([]);
      const listed = await f.store.audit.list({ filter: {}, limit: 10 });
      expect(listed.filter((row) => row.chainId === legacy).map((row) => [row.requestId, row.status, row.outcomeSeq, row.errorMessage])).toEqual([
        ["a", "ok", 4, null],
        ["r", "denied", null, "no"],
        ["b", "error", 6, "boom"],
        ["c", "pending", null, null],
      ]);
      expect(await verifyChain(f.store.audit, legacy)).toMatchObject({ ok: true, events: 6, to: 6 });
    });

    run("a new chain appends its outcomes to audit_outcomes; its records stay as written ('open')", async (f) => {
      const chain = await new TestChain(f.store).open();
      await chain.append([
        { kind: "call", id: "n1" },
        { kind: "call", id: "n2" },
      ]);
      await chain.append([{ kind: "outcome", id: "n1" }]);
      const stored = await f.raw<{ status: string; outcome_seq: unknown }>("SELECT status, outcome_seq FROM audit_events WHERE chain_id = $1 ORDER BY seq", [
        chain.chainId,
      ]);
      expect(stored.map((row) => [row.status, row.outcome_seq])).toEqual([
        ["open", null],
        ["open", null],
      ]);
      const outcomes = await f.raw<{ seq: unknown; call_seq: unknown; status: string }>(
        "SELECT seq, call_seq, status FROM audit_outcomes WHERE chain_id = $1",
        [chain.chainId],
      );
      expect(outcomes.map((row) => [Number(row.seq), Number(row.call_seq), row.status])).toEqual([[3, 1, "ok"]]);
      const [n1, n2] = (await f.store.audit.beginEvents(chain.chainId, 0, 10)).map((row) => [row.status, row.outcomeSeq]);
      expect([n1, n2]).toEqual([
        ["ok", 3],
        ["pending", null],
      ]);
      expect(await verifyChain(f.store.audit, chain.chainId)).toMatchObject({ ok: true, events: 3 });
      const followed = await f.store.audit.finalizedAfter(chain.chainId, 0, {}, 10);
      expect(followed.map(({ pos, row }) => [pos, row.requestId])).toEqual([[3, "n1"]]);
      await f.raw("UPDATE audit_chains SET ended_at = $1 WHERE chain_id = $2", [Date.now(), chain.chainId]);
    });

    run("follow reads the previous release's outcomes by chain position", async (f) => {
      const followed = await f.store.audit.finalizedAfter(legacy, 0, {}, 10);
      expect(followed.map(({ pos, row }) => [pos, row.requestId, row.status])).toEqual([
        [2, "r", "denied"],
        [4, "a", "ok"],
        [6, "b", "error"],
      ]);
      expect(await f.store.audit.eventHash(legacy, 4)).toBe((await f.store.audit.outcomeEvents(legacy, 3, 1))[0]?.outcomeHash);
    });

    run("a dead chain of the previous release gets its open call marked incomplete as an appended event, and still verifies", async (f) => {
      const log = createLogger({ level: "silent" });
      const marked = await markUnfinishedCalls(f.store.audit, {
        self: { chainId: "self", instance: "new", host: "h", pid: process.pid },
        now: Date.now(),
        staleAfterMs: 60_000,
        log,
      });
      expect(marked.calls).toBeGreaterThanOrEqual(1);
      const c = (await f.store.audit.list({ filter: {}, limit: 20 })).find((row) => row.chainId === legacy && row.requestId === "c");
      expect(c).toMatchObject({ status: "incomplete", outcomeSeq: 7 });
      expect(await verifyChain(f.store.audit, legacy)).toMatchObject({ ok: true, events: 7, to: 7 });
      // Marked once: nothing is left open on any chain, and a gateway of the previous release (which looks for
      // 'pending' records) finds nothing to mark a second time.
      expect(await f.store.audit.chainsWithPendingCalls()).toEqual([]);
      expect(await f.raw("SELECT seq FROM audit_events WHERE chain_id = $1 AND status = 'pending'", [legacy])).toEqual([]);
    });

    run("prune removes the old chain's finished records and outcome events of both kinds; verify passes from the checkpoint", async (f) => {
      const steps = await planPrune(f.store.audit, Date.now() + 1);
      const mine = steps.filter((step) => step.chainId === legacy);
      expect(mine).toHaveLength(1);
      await executePrune(f.store.audit, mine, Date.now() + 1, Date.now());
      expect(await f.raw("SELECT * FROM audit_events WHERE chain_id = $1", [legacy])).toEqual([]);
      expect(await f.raw("SELECT * FROM audit_outcomes WHERE chain_id = $1", [legacy])).toEqual([]);
      expect(await verifyChain(f.store.audit, legacy)).toMatchObject({ ok: true });
    });
  });
}
