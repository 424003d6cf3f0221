import { expect, test } from "vitest";
import { AuditChainConflictError } from "../src/audit/audit-errors.ts";
import type { AuditChain, AuditRow } from "../src/audit/audit-record.ts";
import { AuditRowBuilder } from "../src/audit/audit-row.ts";
import { genesisHash } from "../src/audit/chain-hash.ts";
import { type ChainItem, type Head, type PendingRecord, sealBatch } from "../src/audit/chain-seal.ts";
import { createRedactor } from "../src/audit/redact.ts";
import type { AuditContext } from "../src/audit/auditor.ts";
import type { Store } from "../src/store/store.ts";

const rows = new AuditRowBuilder(createRedactor({ keys: ["password"], maxArgumentBytes: 4_096 }));

/** A chain a test appends to through the real sealing code, so every hash is what the auditor writes. */
export class TestChain {
  head: Head;
  readonly records = new Map<string, PendingRecord>();

  constructor(
    readonly store: Store,
    readonly chainId = `test.${crypto.randomUUID().slice(0, 8)}`,
    readonly instance = "test-instance",
  ) {
    this.head = { seq: 0, hash: genesisHash(chainId) };
  }

  async open(overrides: Partial<AuditChain> = {}): Promise<this> {
    const now = Date.now();
    await this.store.audit.createChain({
      chainId: this.chainId,
      instance: this.instance,
      host: "test-host",
      pid: 1,
      startedAt: now,
      heartbeatAt: now,
      endedAt: null,
      headSeq: 0,
      headHash: this.head.hash,
      ...overrides,
    });
    return this;
  }

  /** Appends calls (begin), refusals and outcomes, in the order given; returns the appended rows. */
  async append(steps: Step[], at = Date.now()): Promise<void> {
    const items: ChainItem[] = steps.map((step) => {
      if (step.kind === "call") {
        const record: PendingRecord = { row: rows.call(context(step), step.ts ?? at) };
        this.records.set(step.id, record);
        return { type: "record", record };
      }
      if (step.kind === "refusal")
        return { type: "record", record: { row: rows.refusal(context(step), { status: step.status ?? "denied", errorMessage: "no" }, step.ts ?? at) } };
      const record = this.records.get(step.id)!;
      return { type: "outcome", record, fields: rows.outcome({ status: step.status ?? "ok" }, 3, step.finishedAt ?? at) };
    });
    const { append } = sealBatch(this.chainId, this.head, items, at);
    await this.store.audit.append(append);
    this.head = append.head;
  }
}

/** What a call or a refusal says about itself; a step without protocolVersion writes a record as mcpgw did before it was recorded. */
interface RecordStep {
  id: string;
  subject?: string;
  backend?: string;
  target?: string;
  ts?: number;
  arguments?: unknown;
  protocolVersion?: string;
  credential?: string;
}

export type Step =
  | ({ kind: "call" } & RecordStep)
  | ({ kind: "refusal"; status?: "denied" | "rate_limited" | "invalid" } & RecordStep)
  | { kind: "outcome"; id: string; status?: "ok" | "error" | "timeout"; finishedAt?: number };

function context(step: RecordStep): AuditContext {
  return {
    requestId: step.id,
    sessionId: "s1",
    subject: step.subject ?? "alice",
    roles: ["dev"],
    clientName: "client",
    clientVersion: "1.0",
    backend: step.backend ?? "lab",
    target: step.target ?? "echo",
    method: "tools/call",
    arguments: step.arguments ?? { text: step.id },
    ...(step.protocolVersion !== undefined && { protocolVersion: step.protocolVersion }),
    ...(step.credential !== undefined && { credential: step.credential }),
  };
}

/** The audit repository's contract, run inside the Store contract on every driver. */
export function auditRepositoryContract(current: () => Store | undefined): void {
  const run = (name: string, body: (store: Store) => Promise<void>) =>
    test(`audit: ${name}`, async (context) => {
      const store = current();
      if (!store) return context.skip();
      await body(store);
    });

  run("records, outcomes and the chain head round-trip; list filters by subject, status, tool, backend and time", async (store) => {
    const chain = await new TestChain(store).open();
    await chain.append([
      { kind: "call", id: "r1", subject: "alice", backend: "GitHub", target: "Read_File", ts: 1_000 },
      { kind: "call", id: "r2", subject: "bob", backend: "lab", target: "echo", ts: 2_000 },
      { kind: "refusal", id: "r3", subject: "bob", backend: "lab", target: "crash", ts: 3_000 },
    ]);
    await chain.append([
      { kind: "outcome", id: "r1", status: "ok", finishedAt: 4_000 },
      { kind: "outcome", id: "r2", status: "error", finishedAt: 5_000 },
    ]);
    expect(await store.audit.chain(chain.chainId)).toMatchObject({ headSeq: 5, headHash: chain.head.hash, endedAt: null });

    const mine = (list: AuditRow[]) => list.filter((row) => row.chainId === chain.chainId).map((row) => row.requestId);
    const all = await store.audit.list({ filter: {}, limit: 100 });
    const r1 = all.find((row) => row.requestId === "r1" && row.chainId === chain.chainId)!;
    expect(r1).toMatchObject({
      seq: 1,
      kind: "call",
      ts: 1_000,
      subject: "alice",
      roles: '["dev"]',
      clientName: "client",
      clientVersion: "1.0",
      backend: "GitHub",
      target: "Read_File",
      method: "tools/call",
      arguments: '{"text":"r1"}',
      status: "ok",
      durationMs: 3,
      finishedAt: 4_000,
      outcomeSeq: 4,
      errorCode: null,
    });
    expect(typeof r1.id).toBe("number");
    expect(r1.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(r1.prevHash).toBe(genesisHash(chain.chainId));
    expect(mine(all)).toEqual(["r1", "r2", "r3"]);
    expect(mine(await store.audit.list({ filter: { subject: "bob" }, limit: 100 }))).toEqual(["r2", "r3"]);
    expect(mine(await store.audit.list({ filter: { status: "denied" }, limit: 100 }))).toEqual(["r3"]);
    // Globs are case-insensitive on both stores; a bare name matches any backend.
    expect(mine(await store.audit.list({ filter: { tool: "github/read_*" }, limit: 100 }))).toEqual(["r1"]);
    expect(mine(await store.audit.list({ filter: { tool: "echo" }, limit: 100 }))).toEqual(["r2"]);
    expect(mine(await store.audit.list({ filter: { tool: "lab/*" }, limit: 100 }))).toEqual(["r2", "r3"]);
    expect(mine(await store.audit.list({ filter: { tool: "lab/ech_" }, limit: 100 }))).toEqual([]);
    expect(mine(await store.audit.list({ filter: { since: 2_000 }, limit: 100 }))).toEqual(["r2", "r3"]);
    expect(mine(await store.audit.list({ filter: { until: 2_000 }, limit: 100 }))).toEqual(["r1"]);
    expect(mine(await store.audit.list({ filter: { since: 2_000, until: 3_000 }, limit: 100 }))).toEqual(["r2"]);
    expect(mine(await store.audit.list({ filter: { backend: "lab" }, limit: 100 }))).toEqual(["r2", "r3"]);
    expect(mine(await store.audit.list({ filter: { backend: "lab", status: "error" }, limit: 100 }))).toEqual(["r2"]);
    expect(await store.audit.count({ subject: "bob" })).toBeGreaterThanOrEqual(2);
    expect(await store.audit.count({ backend: "lab", until: 3_000 })).toBeGreaterThanOrEqual(1);
  });

  run("the protocol version round-trips where it was recorded and is null where it was not", async (store) => {
    const chain = await new TestChain(store).open();
    await chain.append([
      { kind: "call", id: "session-era", protocolVersion: "2025-06-18" },
      { kind: "refusal", id: "stateless", protocolVersion: "2026-07-28" },
      { kind: "call", id: "unrecorded" },
    ]);
    await chain.append([
      { kind: "outcome", id: "session-era" },
      { kind: "outcome", id: "unrecorded" },
    ]);
    const versions = (await store.audit.beginEvents(chain.chainId, 0, 10)).map((row) => [row.requestId, row.protocolVersion]);
    expect(versions).toEqual([
      ["session-era", "2025-06-18"],
      ["stateless", "2026-07-28"],
      ["unrecorded", null],
    ]);
    // tail and export read through list().
    const listed = (await store.audit.list({ filter: {}, limit: 1_000 })).filter((row) => row.chainId === chain.chainId);
    expect(Object.fromEntries(listed.map((row) => [row.requestId, row.protocolVersion]))).toEqual({
      "session-era": "2025-06-18",
      stateless: "2026-07-28",
      unrecorded: null,
    });
  });

  run("the credential mode round-trips where it was recorded and is null where it was not", async (store) => {
    const chain = await new TestChain(store).open();
    await chain.append([
      { kind: "call", id: "secret-call", credential: "per-subject-secret" },
      { kind: "refusal", id: "static-refusal", credential: "static" },
      { kind: "call", id: "no-credential" },
    ]);
    await chain.append([{ kind: "outcome", id: "secret-call" }]);
    const listed = (await store.audit.list({ filter: {}, limit: 1_000 })).filter((row) => row.chainId === chain.chainId);
    expect(Object.fromEntries(listed.map((row) => [row.requestId, row.credential]))).toEqual({
      "secret-call": "per-subject-secret",
      "static-refusal": "static",
      "no-credential": null,
    });
  });

  run("list pages by (time, id) in both directions", async (store) => {
    const chain = await new TestChain(store).open();
    const subject = `pager-${chain.chainId}`;
    await chain.append(Array.from({ length: 7 }, (_, i) => ({ kind: "refusal" as const, id: `p${i}`, subject, ts: 10_000 + Math.floor(i / 2) })));
    const ids: string[] = [];
    let after: { ts: number; id: number } | undefined;
    for (;;) {
      const page = await store.audit.list({ filter: { subject }, limit: 3, ...(after && { after }) });
      if (page.length === 0) break;
      ids.push(...page.map((row) => row.requestId!));
      after = { ts: page.at(-1)!.ts, id: page.at(-1)!.id! };
    }
    expect(ids).toEqual(["p0", "p1", "p2", "p3", "p4", "p5", "p6"]);
    expect((await store.audit.list({ filter: { subject }, limit: 2, newestFirst: true })).map((row) => row.requestId)).toEqual(["p6", "p5"]);
  });

  run("an append from a stale head is a conflict and writes nothing", async (store) => {
    const chain = await new TestChain(store).open();
    await chain.append([{ kind: "call", id: "a" }]);
    const stale = new TestChain(store, chain.chainId);
    await expect(stale.append([{ kind: "refusal", id: "b" }])).rejects.toBeInstanceOf(AuditChainConflictError);
    expect((await store.audit.beginEvents(chain.chainId, 0, 10)).map((row) => row.requestId)).toEqual(["a"]);
    expect((await store.audit.chain(chain.chainId))?.headSeq).toBe(1);
  });

  run("an outcome for a call that is no longer pending is a conflict naming it, and rolls back the whole append", async (store) => {
    const chain = await new TestChain(store).open();
    await chain.append([
      { kind: "call", id: "a" },
      { kind: "call", id: "b" },
    ]);
    await chain.append([{ kind: "outcome", id: "a" }]);
    const twice = chain.head;
    const err = await chain
      .append([
        { kind: "refusal", id: "c" },
        { kind: "outcome", id: "a" },
        { kind: "outcome", id: "b" },
      ])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuditChainConflictError);
    expect((err as AuditChainConflictError).notPending).toEqual([1]);
    expect((await store.audit.chain(chain.chainId))?.headSeq).toBe(twice.seq);
    expect((await store.audit.beginEvents(chain.chainId, 0, 10)).map((row) => row.requestId)).toEqual(["a", "b"]);
    expect((await store.audit.pendingCalls(chain.chainId, 0, 10)).map((row) => row.requestId)).toEqual(["b"]);
  });

  run("an ended chain refuses live appends but accepts a takeover", async (store) => {
    const chain = await new TestChain(store).open();
    await chain.append([{ kind: "call", id: "a" }]);
    await store.audit.append({ chainId: chain.chainId, fromSeq: chain.head.seq, head: chain.head, records: [], outcomes: [], at: Date.now(), end: true });
    expect((await store.audit.chain(chain.chainId))?.endedAt).not.toBeNull();
    await expect(chain.append([{ kind: "refusal", id: "late" }])).rejects.toBeInstanceOf(AuditChainConflictError);
    expect((await store.audit.chainsWithPendingCalls()).map((c) => c.chainId)).toContain(chain.chainId);
    const taken = {
      chainId: chain.chainId,
      fromSeq: chain.head.seq,
      head: { seq: chain.head.seq, hash: chain.head.hash },
      records: [],
      outcomes: [],
      at: Date.now(),
      takeover: true,
    };
    await expect(store.audit.append(taken)).resolves.toBeUndefined();
  });

  run("finalizedAfter follows a chain in commit order: outcomes and refusals, not pending calls", async (store) => {
    const chain = await new TestChain(store).open();
    await chain.append([
      { kind: "call", id: "slow" },
      { kind: "call", id: "fast" },
      { kind: "refusal", id: "no" },
    ]);
    await chain.append([{ kind: "outcome", id: "fast" }]);
    const first = await store.audit.finalizedAfter(chain.chainId, 0, {}, 10);
    expect(first.map(({ pos, row }) => [pos, row.requestId])).toEqual([
      [3, "no"],
      [4, "fast"],
    ]);
    await chain.append([{ kind: "outcome", id: "slow", status: "error" }]);
    expect((await store.audit.finalizedAfter(chain.chainId, 4, {}, 10)).map(({ pos, row }) => [pos, row.requestId, row.status])).toEqual([
      [5, "slow", "error"],
    ]);
    expect(await store.audit.finalizedAfter(chain.chainId, 0, { status: "denied" }, 10)).toHaveLength(1);
  });

  run("prune's prefix stops before open calls and before records whose outcome lies beyond it", async (store) => {
    const chain = await new TestChain(store).open();
    // seq: 1 a, 2 a✓(200), 3 b, 4 c, 5 b✓(300), 6 c✓(900), 7 d (open), 8 e (refusal at 900)
    await chain.append([
      { kind: "call", id: "a", ts: 100 },
      { kind: "outcome", id: "a", finishedAt: 200 },
    ]);
    await chain.append([
      { kind: "call", id: "b", ts: 200 },
      { kind: "call", id: "c", ts: 200 },
      { kind: "outcome", id: "b", finishedAt: 300 },
    ]);
    await chain.append([
      { kind: "outcome", id: "c", finishedAt: 900 },
      { kind: "call", id: "d", ts: 900 },
      { kind: "refusal", id: "e", ts: 900 },
    ]);
    // Before 500: c (seq 4) finished too late, and b (seq 3) has its outcome beyond seq 3: only a goes.
    expect(await store.audit.prunablePrefix(chain.chainId, 500)).toBe(2);
    // Before 1000: everything but d (open, seq 7) and what follows it.
    expect(await store.audit.prunablePrefix(chain.chainId, 1_000)).toBe(6);
    expect(await store.audit.prunablePrefix(chain.chainId, 50)).toBe(0);
    expect(await store.audit.countUpTo(chain.chainId, 6)).toBe(3);
    const hash = await store.audit.eventHash(chain.chainId, 6);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(await store.audit.pruneTo(chain.chainId, { seq: 6, hash: hash! }, 1_000, 2_000)).toBe(3);
    expect(await store.audit.checkpoint(chain.chainId)).toMatchObject({ seq: 6, hash, prunedBefore: 1_000, prunedCount: 3, createdAt: 2_000 });
    expect((await store.audit.beginEvents(chain.chainId, 0, 10)).map((row) => row.requestId)).toEqual(["d", "e"]);
    // The open call d at seq 7 must never be pruned.
    await expect(store.audit.pruneTo(chain.chainId, { seq: 7, hash: "x" }, 1_000, 2_000)).rejects.toBeInstanceOf(AuditChainConflictError);
  });

  run("chains of several processes append concurrently without a global lock", async (store) => {
    const chains = await Promise.all(Array.from({ length: 4 }, () => new TestChain(store).open()));
    await Promise.all(
      chains.map(async (chain, c) => {
        for (let batch = 0; batch < 5; batch++)
          await chain.append(Array.from({ length: 20 }, (_, i) => ({ kind: "refusal" as const, id: `${c}-${batch}-${i}` })));
      }),
    );
    for (const chain of chains) expect((await store.audit.chain(chain.chainId))?.headSeq).toBe(100);
    const ids = await store.audit.chainIds();
    for (const chain of chains) expect(ids).toContain(chain.chainId);
  });
}
