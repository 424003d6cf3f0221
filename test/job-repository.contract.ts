import { expect, test } from "vitest";
import type { NewJob } from "../src/jobs/job-record.ts";
import type { Store } from "../src/store/store.ts";

let clock = 1_800_000_000_000;
/** Each job a later creation time than the last, so ordering is well defined. */
function newJob(overrides: Partial<NewJob> = {}): NewJob {
  clock += 10;
  return {
    id: crypto.randomUUID(),
    owner: "alice",
    roles: ["dev"],
    origin: "rest",
    backend: "lab",
    tool: "sleep",
    arguments: { ms: 5 },
    idempotent: false,
    ttlMs: 60_000,
    createdAt: clock,
    ...overrides,
  };
}

/** The JobRepository part of the Store contract: every driver passes exactly these cases. */
export function jobRepositoryContract(getStore: () => Store | undefined): void {
  const jobs = (context: { skip: (note?: string) => void }) => {
    const store = getStore();
    if (!store) context.skip("store not available");
    return store!.jobs;
  };

  test("jobs: create, get and list newest first with owner, status and keyset cursor filters", async (context) => {
    const repo = jobs(context);
    const owner = `owner-${crypto.randomUUID()}`;
    const created = [];
    for (let i = 0; i < 3; i++) created.push(await repo.create(newJob({ owner, arguments: { n: i } })));
    expect(created[0]).toMatchObject({ owner, status: "queued", attempts: 0, cancelRequested: false, arguments: { n: 0 }, roles: ["dev"] });
    expect(await repo.get(created[1]!.id)).toEqual(created[1]);
    expect(await repo.get("no-such-job")).toBeUndefined();
    const traced = await repo.create(
      newJob({ owner: `${owner}-traced`, traceparent: `00-${"a".repeat(32)}-${"b".repeat(16)}-01`, tracestate: "congo=t61rcWkgMzE" }),
    );
    expect(await repo.get(traced.id)).toMatchObject({ traceparent: `00-${"a".repeat(32)}-${"b".repeat(16)}-01`, tracestate: "congo=t61rcWkgMzE" });
    expect(created[0]!.traceparent).toBeUndefined();
    const page = await repo.list({ owner, limit: 2 });
    expect(page.map((j) => j.id)).toEqual([created[2]!.id, created[1]!.id]);
    const next = await repo.list({ owner, limit: 2, before: { createdAt: page[1]!.createdAt, id: page[1]!.id } });
    expect(next.map((j) => j.id)).toEqual([created[0]!.id]);
    expect(await repo.list({ owner, status: "completed", limit: 10 })).toEqual([]);
  });

  test("jobs: everyone's, filtered by backend, owner and status together, paged newest first (the admin API's listing)", async (context) => {
    const repo = jobs(context);
    const backend = `b-${crypto.randomUUID()}`;
    const [a1, b1, a2] = [
      await repo.create(newJob({ owner: "ana", backend })),
      await repo.create(newJob({ owner: "ben", backend })),
      await repo.create(newJob({ owner: "ana", backend })),
    ];
    await repo.create(newJob({ owner: "ana", backend: `${backend}-other` }));
    expect((await repo.list({ backend, limit: 10 })).map((j) => j.id)).toEqual([a2!.id, b1!.id, a1!.id]);
    expect((await repo.list({ backend, owner: "ana", limit: 10 })).map((j) => j.id)).toEqual([a2!.id, a1!.id]);
    const first = await repo.list({ backend, limit: 2 });
    const rest = await repo.list({ backend, limit: 2, before: { createdAt: first[1]!.createdAt, id: first[1]!.id } });
    expect([...first, ...rest].map((j) => j.id)).toEqual([a2!.id, b1!.id, a1!.id]);
    expect(await repo.cancel(b1!.id, clock)).toMatchObject({ effect: "cancelled" });
    expect((await repo.list({ backend, status: "cancelled", limit: 10 })).map((j) => j.owner)).toEqual(["ben"]);
    expect((await repo.list({ backend, owner: "ana", status: "queued", limit: 10 })).map((j) => j.id)).toEqual([a2!.id, a1!.id]);
    expect(await repo.list({ backend, owner: "ben", status: "queued", limit: 10 })).toEqual([]);
  });

  test("jobs: counted by status, as the /metrics gauge reads them", async (context) => {
    const repo = jobs(context);
    const before = await repo.countByStatus();
    await repo.create(newJob());
    await repo.create(newJob());
    while ((await repo.claim("count-drain", 100, clock, clock + 1)).length > 0);
    await repo.create(newJob());
    await repo.create(newJob());
    const after = await repo.countByStatus();
    expect(after.queued).toBe(2);
    expect((after.working ?? 0) - (before.working ?? 0)).toBeGreaterThanOrEqual(2);
    // Claimed by the drain above: leave no queued job for the cases that follow.
    while ((await repo.claim("count-drain", 100, clock, clock + 1)).length > 0);
  });

  test("jobs: a claim whose durability waits for the next commit takes the same jobs, once, and is visible at once", async (context) => {
    const repo = jobs(context);
    while ((await repo.claim("drain", 100, clock, clock + 1)).length > 0);
    const a = await repo.create(newJob());
    const b = await repo.create(newJob());
    const claimed = await repo.claim("w1", 1, clock, clock + 30_000, "with-next-commit");
    expect(claimed.map((j) => j.id)).toEqual([a.id]);
    expect(await repo.get(a.id)).toMatchObject({ status: "working", attempts: 1, leaseOwner: "w1" });
    expect((await repo.claim("w2", 5, clock, clock + 30_000, "with-next-commit")).map((j) => j.id)).toEqual([b.id]);
    expect(await repo.claim("w3", 5, clock, clock + 30_000, "with-next-commit")).toEqual([]);
  });

  test("jobs: claim takes queued jobs oldest first, once; finish ends only a job the worker holds", async (context) => {
    const repo = jobs(context);
    // Earlier contract cases may leave queued jobs behind: drain them so this case claims its own.
    while ((await repo.claim("drain", 100, clock, clock + 1)).length > 0);
    const a = await repo.create(newJob());
    const b = await repo.create(newJob());
    const claimed = await repo.claim("w1", 1, clock, clock + 30_000);
    expect(claimed.map((j) => j.id)).toEqual([a.id]);
    expect(claimed[0]).toMatchObject({ status: "working", attempts: 1, leaseOwner: "w1", leaseExpiresAt: clock + 30_000 });
    const rest = await repo.claim("w2", 5, clock, clock + 30_000);
    expect(rest.map((j) => j.id)).toEqual([b.id]);
    expect(await repo.claim("w3", 5, clock, clock + 30_000)).toEqual([]);

    await repo.setProgress(a.id, "w1", { progress: 3, total: 10, message: "three" }, clock + 1);
    await repo.setProgress(a.id, "w2", { progress: 9 }, clock + 2); // not its job: ignored
    expect((await repo.get(a.id))?.progress).toEqual({ progress: 3, total: 10, message: "three" });

    expect(await repo.finish(a.id, "w2", { status: "completed", result: { content: [] } }, clock + 3)).toBe(false);
    expect(await repo.finish(a.id, "w1", { status: "completed", result: { content: [{ type: "text", text: "ok" }] } }, clock + 3)).toBe(true);
    const done = await repo.get(a.id);
    expect(done).toMatchObject({
      status: "completed",
      finishedAt: clock + 3,
      expiresAt: clock + 3 + 60_000,
      result: { content: [{ type: "text", text: "ok" }] },
    });
    expect(done?.leaseOwner).toBeUndefined();
    // Ended is final.
    expect(await repo.finish(a.id, "w1", { status: "failed", error: { message: "late" } }, clock + 4)).toBe(false);
    await repo.finish(b.id, "w2", { status: "failed", error: { code: -32001, message: "timed out" } }, clock + 4);
    expect((await repo.get(b.id))?.error).toEqual({ code: -32001, message: "timed out" });
  });

  test("jobs: renew extends held leases and reports lost jobs and asked-for cancels", async (context) => {
    const repo = jobs(context);
    while ((await repo.claim("drain", 100, clock, clock + 1)).length > 0);
    const a = await repo.create(newJob());
    const b = await repo.create(newJob());
    await repo.claim("w1", 2, clock, clock + 1_000);
    expect(await repo.cancel(b.id, clock)).toMatchObject({ effect: "requested", job: { status: "working", cancelRequested: true } });
    const renewed = await repo.renew("w1", [a.id, b.id, "gone"], clock + 5_000);
    expect(renewed).toEqual({ lost: ["gone"], cancelRequested: [b.id] });
    expect((await repo.get(a.id))?.leaseExpiresAt).toBe(clock + 5_000);
    expect((await repo.renew("w2", [a.id], clock + 9_000)).lost).toEqual([a.id]);
  });

  test("jobs: an expired lease requeues an idempotent job with attempts left and fails any other as interrupted", async (context) => {
    const repo = jobs(context);
    while ((await repo.claim("drain", 100, clock, clock + 1)).length > 0);
    const idempotent = await repo.create(newJob({ idempotent: true, tool: "lookup" }));
    const plain = await repo.create(newJob({ tool: "transfer" }));
    const cancelling = await repo.create(newJob());
    await repo.claim("dead", 3, clock, clock + 1_000);
    await repo.cancel(cancelling.id, clock);
    const { requeued, ended } = await repo.reclaimExpired(clock + 2_000, 3);
    // Jobs drained by earlier cases have expired leases too: look at this case's own.
    const mine = new Set([idempotent.id, plain.id, cancelling.id]);
    expect(requeued.map((j) => j.id).filter((id) => mine.has(id))).toEqual([idempotent.id]);
    expect(
      ended
        .map((j) => j.id)
        .filter((id) => mine.has(id))
        .sort(),
    ).toEqual([plain.id, cancelling.id].sort());
    expect(await repo.get(idempotent.id)).toMatchObject({ status: "queued", attempts: 1 });
    const failed = await repo.get(plain.id);
    expect(failed?.status).toBe("failed");
    expect(failed?.error?.message).toMatch(/^interrupted: .*"transfer" is not marked idempotent/);
    expect((await repo.get(cancelling.id))?.status).toBe("cancelled");
    // The idempotent job, interrupted on every attempt, fails once attempts run out.
    for (let attempt = 2; attempt <= 3; attempt++) {
      await repo.reclaimExpired(clock + 2_000, 3);
      const claimed = await repo.claim(`dead-${attempt}`, 5, clock, clock + 1_000);
      expect(claimed.find((j) => j.id === idempotent.id)?.attempts).toBe(attempt);
    }
    await repo.reclaimExpired(clock + 2_000, 3);
    const exhausted = await repo.get(idempotent.id);
    expect(exhausted?.status).toBe("failed");
    expect(exhausted?.error?.message).toMatch(/interrupted 3 times/);
    // A live lease is left alone.
    const live = await repo.create(newJob());
    await repo.claim("alive", 5, clock, clock + 60_000);
    const again = await repo.reclaimExpired(clock + 2_000, 3);
    expect(again.ended.map((j) => j.id)).not.toContain(live.id);
    expect((await repo.get(live.id))?.status).toBe("working");
  });

  test("jobs: cancel ends a queued job at once, asks a running one, and leaves an ended one", async (context) => {
    const repo = jobs(context);
    const queued = await repo.create(newJob());
    const cancelled = await repo.cancel(queued.id, clock + 1);
    expect(cancelled).toMatchObject({ effect: "cancelled", job: { status: "cancelled", finishedAt: clock + 1 } });
    expect(await repo.cancel(queued.id, clock + 2)).toMatchObject({ effect: "already-ended", job: { status: "cancelled" } });
    expect(await repo.cancel("no-such-job", clock)).toBeUndefined();
  });

  test("jobs: release gives a claimed job back without spending an attempt; deleteExpired removes ended jobs past their TTL", async (context) => {
    const repo = jobs(context);
    while ((await repo.claim("drain", 100, clock, clock + 1)).length > 0);
    const job = await repo.create(newJob({ ttlMs: 1_000 }));
    await repo.claim("w1", 1, clock, clock + 30_000);
    await repo.release(job.id, "w1", clock);
    expect(await repo.get(job.id)).toMatchObject({ status: "queued", attempts: 0 });
    await repo.claim("w1", 1, clock, clock + 30_000);
    await repo.finish(job.id, "w1", { status: "completed", result: {} }, clock + 10);
    expect(await repo.deleteExpired(clock + 500)).toBe(0);
    expect(await repo.deleteExpired(clock + 1_011)).toBeGreaterThanOrEqual(1);
    expect(await repo.get(job.id)).toBeUndefined();
  });
}
