import { hostname } from "node:os";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { AUDIT_UNAVAILABLE_CODE, AuditUnavailableError } from "../src/audit/audit-errors.ts";
import type { AuditRepository } from "../src/audit/audit-repository.ts";
import { AUDIT_DEFAULTS, type AuditSettings } from "../src/config/audit-settings.ts";
import type { AuditContext } from "../src/audit/auditor.ts";
import { StoreAuditor } from "../src/audit/store-auditor.ts";
import { markUnfinishedCalls } from "../src/audit/unfinished-calls.ts";
import { verifyAllChains } from "../src/audit/verify-chains.ts";
import { createLogger } from "../src/log/logger.ts";
import { AUDIT_STORES, type AuditStoreFixture } from "./helpers/audit-stores.ts";
import { SwitchableRepository } from "./helpers/switchable-audit-repository.ts";

const logger = createLogger({ level: "silent" });

function call(id: string, overrides: Partial<AuditContext> = {}): AuditContext {
  return {
    requestId: id,
    sessionId: "s",
    subject: "alice",
    roles: [],
    backend: "lab",
    target: "echo",
    method: "tools/call",
    arguments: { text: id },
    ...overrides,
  };
}

const settings = (overrides: Partial<AuditSettings> = {}): AuditSettings => ({
  ...AUDIT_DEFAULTS,
  instance: `t-${crypto.randomUUID().slice(0, 6)}`,
  ...overrides,
});

async function eventually(check: () => boolean | Promise<boolean>, ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await Bun.sleep(20);
  }
}

for (const [label, setup] of AUDIT_STORES) {
  describe(`StoreAuditor (${label})`, () => {
    let fixture: AuditStoreFixture | undefined;
    const auditors: StoreAuditor[] = [];
    const start = async (repo: AuditRepository, s: AuditSettings = settings(), extra: { staleAfterMs?: number } = {}) => {
      const auditor = await StoreAuditor.start({ repository: repo, logger, settings: s, retryMs: 50, ...extra });
      auditors.push(auditor);
      return auditor;
    };

    beforeAll(async () => {
      fixture = await setup();
    });
    afterEach(async () => {
      await Promise.all(auditors.splice(0).map((a) => a.close(500).catch(() => undefined)));
    });
    afterAll(async () => fixture?.cleanup());

    test("group commit: 2,000 concurrent calls share a few transactions; each begin resolves only once its record is committed", async (context) => {
      if (!fixture) return context.skip();
      const sw = new SwitchableRepository(fixture.store.audit);
      const auditor = await start(sw.repo);
      const ids = Array.from({ length: 2_000 }, (_, i) => `g${i}`);
      const resolvedBeforeCommit: string[] = [];
      const entries = await Promise.all(
        ids.map((id) =>
          auditor.begin(call(id)).then((entry) => {
            if (!sw.committed.has(id)) resolvedBeforeCommit.push(id);
            return entry;
          }),
        ),
      );
      expect(resolvedBeforeCommit).toEqual([]);
      expect(auditor.stats.commits).toBeLessThan(50);
      entries.forEach((entry, i) => entry.finish(i % 3 === 0 ? { status: "error", errorCode: -32010, errorMessage: "backend down" } : { status: "ok" }));
      await auditor.idle();
      const rows = await fixture.store.audit.beginEvents(auditor.chain, 0, 10_000);
      expect(rows).toHaveLength(2_000);
      expect(rows.filter((row) => row.status === "error")).toHaveLength(667);
      expect(rows.every((row) => row.outcomeSeq !== null && row.finishedAt !== null && row.durationMs !== null)).toBe(true);
      expect((await fixture.store.audit.chain(auditor.chain))?.headSeq).toBe(4_000);
      expect((await verifyAllChains(fixture.store.audit)).every((r) => r.ok)).toBe(true);
    });

    test("fail closed: while the store cannot commit, begin rejects with a clear error; calls flow again once it returns", async (context) => {
      if (!fixture) return context.skip();
      const sw = new SwitchableRepository(fixture.store.audit);
      const auditor = await start(sw.repo);
      const before = await auditor.begin(call("before"));
      sw.down = true;
      const refused = await auditor.begin(call("during")).catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(AuditUnavailableError);
      expect((refused as AuditUnavailableError).code).toBe(AUDIT_UNAVAILABLE_CODE);
      expect((refused as Error).message).toMatch(/audit log is unavailable, so the call was not forwarded/);
      expect(auditor.health()).toMatchObject({ available: false, failOpen: false, reason: expect.stringMatching(/unreachable/) });
      // Now refused at once, without waiting for the store.
      await expect(auditor.begin(call("during2"))).rejects.toBeInstanceOf(AuditUnavailableError);
      // The call that was already forwarded keeps its outcome, and refusals are kept, for later.
      before.finish({ status: "ok" });
      await auditor.refuse(call("denied"), { status: "denied", errorMessage: "no role allows it" });
      expect(auditor.health().queued).toBe(2);

      sw.down = false;
      await eventually(() => auditor.health().available);
      await auditor.begin(call("after"));
      await auditor.idle();
      const rows = await fixture.store.audit.beginEvents(auditor.chain, 0, 10_000);
      expect(rows.map((row) => [row.requestId, row.status]).sort()).toEqual([
        ["after", "pending"],
        ["before", "ok"],
        ["denied", "denied"],
      ]);
      expect(auditor.stats.refusedUnaudited).toBe(2);
      expect((await verifyAllChains(fixture.store.audit)).every((r) => r.ok)).toBe(true);
    });

    test("fail open: calls proceed while the store is down, and their records are written when it returns", async (context) => {
      if (!fixture) return context.skip();
      const sw = new SwitchableRepository(fixture.store.audit);
      const auditor = await start(sw.repo, settings({ failOpen: true }));
      sw.down = true;
      const entries = await Promise.all(["o1", "o2", "o3"].map((id) => auditor.begin(call(id))));
      expect(auditor.health()).toMatchObject({ available: false, failOpen: true });
      entries.forEach((entry) => entry.finish({ status: "ok" }));
      sw.down = false;
      await eventually(() => auditor.health().available && auditor.health().queued === 0);
      await auditor.idle();
      const rows = await fixture.store.audit.beginEvents(auditor.chain, 0, 10_000);
      expect(rows.map((row) => [row.requestId, row.status])).toEqual([
        ["o1", "ok"],
        ["o2", "ok"],
        ["o3", "ok"],
      ]);
      expect(auditor.stats.proceededUnaudited).toBe(3);
      expect((await verifyAllChains(fixture.store.audit)).every((r) => r.ok)).toBe(true);
    });

    test("a record the database refuses is dropped alone; it never keeps the log unavailable", async (context) => {
      if (!fixture) return context.skip();
      const sw = new SwitchableRepository(fixture.store.audit);
      const auditor = await start(sw.repo);
      sw.poisonTarget = "poison";
      await Promise.all([
        auditor.refuse(call("p1"), { status: "denied" }),
        auditor.refuse(call("bad", { target: "poison" }), { status: "denied" }),
        auditor.refuse(call("p2"), { status: "denied" }),
      ]);
      await eventually(() => auditor.health().available && auditor.health().queued === 0);
      await auditor.idle();
      const rows = await fixture.store.audit.beginEvents(auditor.chain, 0, 10_000);
      expect(rows.map((row) => row.requestId)).toEqual(["p1", "p2"]);
      expect(auditor.stats.lost).toBe(1);
      await expect(auditor.begin(call("next"))).resolves.toBeDefined();
    });

    test("at start, calls a crashed previous run left pending are marked incomplete, and the chains still verify", async (context) => {
      if (!fixture) return context.skip();
      const s = settings();
      const crashed = await start(fixture.store.audit, s);
      const open = await crashed.begin(call("in-flight"));
      const done = await crashed.begin(call("done"));
      done.finish({ status: "ok" });
      await crashed.idle();
      void open; // never finished: the process "dies" here (its chain is not ended).
      // A gateway of another instance, alive (recent heartbeat): its calls are left alone.
      const other = await start(fixture.store.audit, settings());
      await other.begin(call("other-in-flight"));

      const restarted = await start(fixture.store.audit, s);
      const rows = await fixture.store.audit.list({ filter: {}, limit: 10_000 });
      const byId = new Map(rows.map((row) => [row.requestId, row]));
      expect(byId.get("in-flight")).toMatchObject({
        status: "incomplete",
        chainId: crashed.chain,
        errorMessage: expect.stringMatching(/previous run of this instance\) stopped before these calls ended/),
      });
      expect(byId.get("done")?.status).toBe("ok");
      expect(byId.get("other-in-flight")?.status).toBe("pending");
      expect((await fixture.store.audit.chain(crashed.chain))?.endedAt).not.toBeNull();
      expect(restarted.chain).not.toBe(crashed.chain);
      expect((await verifyAllChains(fixture.store.audit)).filter((r) => !r.ok)).toEqual([]);

      // Once the other gateway's heartbeat is older than the stale bound, its calls are marked too.
      const marked = await markUnfinishedCalls(fixture.store.audit, {
        self: { chainId: restarted.chain, instance: "someone-else", host: "h", pid: 1 },
        now: Date.now() + 60_000,
        staleAfterMs: 30_000,
        log: logger,
      });
      expect(marked.calls).toBeGreaterThanOrEqual(1);
      expect((await fixture.store.audit.list({ filter: { status: "pending" }, limit: 10_000 })).map((r) => r.requestId)).not.toContain("other-in-flight");
    });

    test("a silent chain is dead even when a live process has its pid (a zombie, or the pid reused): its calls are marked", async (context) => {
      if (!fixture) return context.skip();
      const s = settings();
      const killed = await start(fixture.store.audit, s);
      await killed.begin(call("zombie-in-flight"));
      await killed.idle();
      // The next start of the same instance on the same host finds a live process with that pid.
      const marked = await markUnfinishedCalls(fixture.store.audit, {
        self: { chainId: "restarted", instance: s.instance!, host: hostname(), pid: process.pid + 1 },
        now: Date.now() + 60_000,
        staleAfterMs: 30_000,
        log: logger,
        isAlive: () => true,
      });
      expect(marked.calls).toBe(1);
      const row = (await fixture.store.audit.list({ filter: {}, limit: 10_000 })).find((r) => r.requestId === "zombie-in-flight");
      expect(row).toMatchObject({ status: "incomplete", errorMessage: expect.stringContaining("silent since") });
    });

    test("a gateway that dies after another started is found later by its stale heartbeat, without a restart", async (context) => {
      if (!fixture) return context.skip();
      const dying = await start(fixture.store.audit, settings());
      await dying.begin(call("dies-later"));
      await dying.idle();
      // It "dies": its heartbeat stops (no close, the chain is not ended).
      clearInterval((dying as unknown as { heartbeatTimer: ReturnType<typeof setInterval> }).heartbeatTimer);
      await start(fixture.store.audit, settings(), { staleAfterMs: 1_000 });
      await eventually(
        async () => (await fixture!.store.audit.list({ filter: {}, limit: 10_000 })).find((r) => r.requestId === "dies-later")?.status === "incomplete",
        5_000,
      );
    });

    test("a chain taken over by another process is abandoned for a new one; nothing is written into it again", async (context) => {
      if (!fixture) return context.skip();
      const s = settings();
      const auditor = await start(fixture.store.audit, s);
      const first = await auditor.begin(call("t1"));
      // Another gateway believes this one dead (same instance name, pid gone) and marks its calls.
      await markUnfinishedCalls(fixture.store.audit, {
        self: { chainId: "another", instance: s.instance!, host: "elsewhere", pid: 999_999 },
        now: Date.now(),
        staleAfterMs: 60_000,
        log: logger,
      });
      const lostChain = auditor.chain;
      await auditor.begin(call("t2"));
      expect(auditor.chain).not.toBe(lostChain);
      first.finish({ status: "ok" }); // its call was already marked incomplete: this outcome is dropped
      await auditor.idle();
      const rows = await fixture.store.audit.list({ filter: {}, limit: 10_000 });
      expect(rows.find((row) => row.requestId === "t1")).toMatchObject({ chainId: lostChain, status: "incomplete" });
      expect(rows.find((row) => row.requestId === "t2")).toMatchObject({ chainId: auditor.chain, status: "pending" });
      expect((await verifyAllChains(fixture.store.audit)).filter((r) => !r.ok)).toEqual([]);
    });

    test("close commits what is queued and ends the chain; a begin after close is refused", async (context) => {
      if (!fixture) return context.skip();
      const auditor = await start(fixture.store.audit);
      const entry = await auditor.begin(call("last"));
      entry.finish({ status: "ok" });
      await auditor.close();
      expect((await fixture.store.audit.chain(auditor.chain))?.endedAt).not.toBeNull();
      expect((await fixture.store.audit.list({ filter: {}, limit: 10_000 })).find((row) => row.requestId === "last")?.status).toBe("ok");
      await expect(auditor.begin(call("late"))).rejects.toBeInstanceOf(AuditUnavailableError);
    });

    test("secrets in arguments and error messages are redacted before they are written", async (context) => {
      if (!fixture) return context.skip();
      const auditor = await start(fixture.store.audit);
      const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
      const entry = await auditor.begin(call("secret", { arguments: { password: "hunter2", note: `Bearer ${jwt}` } }));
      entry.finish({ status: "error", errorMessage: `backend said: bad token Bearer ${jwt}` });
      await auditor.idle();
      const dump = JSON.stringify(await fixture.raw("SELECT * FROM audit_events WHERE chain_id = $1", [auditor.chain]));
      expect(dump).not.toContain("hunter2");
      expect(dump).not.toContain(jwt);
      expect(dump).toContain("[REDACTED]");
    });
  });
}
