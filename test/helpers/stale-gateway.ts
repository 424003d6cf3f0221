import type { Store } from "../../src/store/store.ts";

/**
 * A gateway that stopped publishing its sessions 30 s ago (its interval 5 s: stale), as a crashed
 * one leaves its last snapshot: one session of the subject "zed". Returns the snapshot's instance.
 */
export async function publishStaleGateway(store: Store): Promise<string> {
  const instance = `crashed.${crypto.randomUUID().slice(0, 8)}`;
  const now = Date.now();
  await store.sessionSnapshots.put({
    instance,
    host: "elsewhere",
    pid: 99_999,
    startedAt: now - 60_000,
    publishedAt: now - 30_000,
    intervalMs: 5_000,
    sessions: [{ id: "ghost-session", subject: "zed", route: "/mcp", openedAt: now - 50_000, lastActivity: now - 40_000, dedicated: [] }],
  });
  return instance;
}
