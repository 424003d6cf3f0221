import { expect, test } from "vitest";
import type { SessionSnapshot } from "../src/sessions/session-view.ts";
import type { Store } from "../src/store/store.ts";

function snapshot(instance: string, overrides: Partial<SessionSnapshot> = {}): SessionSnapshot {
  return {
    instance,
    host: "pod-7",
    pid: 4242,
    startedAt: 1_800_000_000_000,
    publishedAt: 1_800_000_005_000,
    intervalMs: 5_000,
    sessions: [
      {
        id: "2b0c6f7e-0d7a-4a55-9f43-2f3b8d1e9a10",
        subject: "alice",
        client: "claude-code 1.0.0",
        route: "/mcp",
        openedAt: 1_800_000_001_000,
        lastActivity: 1_800_000_004_000,
        dedicated: [{ backend: "github", pid: 5151 }, { backend: "fs" }],
      },
    ],
    ...overrides,
  };
}

/** The SessionSnapshotRepository part of the Store contract: every driver passes exactly these cases. */
export function sessionSnapshotRepositoryContract(getStore: () => Store | undefined): void {
  const repository = (context: { skip: (note?: string) => void }) => {
    const store = getStore();
    if (!store) context.skip("store not available");
    return store!.sessionSnapshots;
  };

  test("session snapshots: put round-trips every field, put again replaces, list is oldest gateway first", async (context) => {
    const repo = repository(context);
    const a = `gw-a-${crypto.randomUUID()}`;
    const b = `gw-b-${crypto.randomUUID()}`;
    await repo.put(snapshot(b, { startedAt: 1_800_000_000_500 }));
    await repo.put(snapshot(a));
    const mine = (await repo.list()).filter((s) => s.instance === a || s.instance === b);
    expect(mine).toEqual([snapshot(a), snapshot(b, { startedAt: 1_800_000_000_500 })]);
    const replaced = snapshot(a, { publishedAt: 1_800_000_010_000, sessions: [] });
    await repo.put(replaced);
    expect((await repo.list()).find((s) => s.instance === a)).toEqual(replaced);
    await repo.remove(a);
    await repo.remove(b);
    expect((await repo.list()).filter((s) => s.instance === a || s.instance === b)).toEqual([]);
  });

  test("session snapshots: touch moves publishedAt only, and says when the row is gone", async (context) => {
    const repo = repository(context);
    const a = `gw-${crypto.randomUUID()}`;
    await repo.put(snapshot(a));
    expect(await repo.touch(a, 1_800_000_020_000)).toBe(true);
    expect((await repo.list()).find((s) => s.instance === a)).toEqual(snapshot(a, { publishedAt: 1_800_000_020_000 }));
    await repo.remove(a);
    expect(await repo.touch(a, 1_800_000_030_000)).toBe(false);
  });

  test("session snapshots: removePublishedBefore removes silent gateways' rows only", async (context) => {
    const repo = repository(context);
    const old = `gw-old-${crypto.randomUUID()}`;
    const fresh = `gw-fresh-${crypto.randomUUID()}`;
    await repo.put(snapshot(old, { publishedAt: 1_000 }));
    await repo.put(snapshot(fresh, { publishedAt: 9_000_000_000_000 }));
    expect(await repo.removePublishedBefore(2_000)).toBeGreaterThanOrEqual(1);
    const left = (await repo.list()).map((s) => s.instance);
    expect(left).toContain(fresh);
    expect(left).not.toContain(old);
    await repo.remove(fresh);
  });
}
