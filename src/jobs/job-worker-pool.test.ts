import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { NoAuditor } from "../audit/no-auditor.ts";
import { createLogger } from "../log/logger.ts";
import { openStore } from "../store/open-store.ts";
import { tempDir } from "../../test/helpers/temp-dir.ts";
import type { JobOutcome } from "./job-record.ts";
import type { JobRepository } from "./job-repository.ts";
import type { JobRunner } from "./job-runner.ts";
import { JobWorkerPool } from "./job-worker-pool.ts";

const dir = tempDir("mcpgw-pool-");
afterAll(() => dir.remove());

/**
 * A worker is a slot for a backend call, not for the commit that stores its outcome: with the
 * store slow to take outcomes, the next job starts before the previous one's outcome is stored,
 * every outcome is still stored, and stop() waits for the last ones.
 */
test("the next job starts while the previous outcome is still being stored; stop waits for the stores", async () => {
  const store = openStore(`sqlite:${join(dir.path, "jobs.db")}`);
  await store.migrate();
  const starts: number[] = [];
  const stored: number[] = [];
  // The real repository, with its outcome writes slowed down (as a busy PostgreSQL commits them).
  const repository: JobRepository = Object.create(store.jobs, {
    finish: {
      value: async (id: string, worker: string, outcome: JobOutcome, now: number) => {
        await Bun.sleep(200);
        const kept = await store.jobs.finish(id, worker, outcome, now);
        stored.push(performance.now());
        return kept;
      },
    },
  });
  const runner = { run: async () => (starts.push(performance.now()), { status: "completed", result: { content: [] } }) } as unknown as JobRunner;
  const pool = new JobWorkerPool({
    repository,
    runner,
    auditor: new NoAuditor(),
    settings: { workers: 1, leaseMs: 30_000, maxAttempts: 3 },
    logger: createLogger({ level: "silent" }),
    workerId: "w1",
  });
  const ids = ["j1", "j2", "j3"];
  for (const id of ids) {
    await store.jobs.create({
      id,
      owner: "alice",
      roles: [],
      origin: "rest",
      backend: "lab",
      tool: "echo",
      arguments: {},
      idempotent: false,
      ttlMs: 600_000,
      createdAt: Date.now(),
    } as never);
  }
  pool.start();
  try {
    for (let i = 0; i < 100 && starts.length < 3; i++) await Bun.sleep(20);
    expect(starts).toHaveLength(3);
    // One worker, yet the second and third jobs started before the first outcome was stored.
    expect(stored.length).toBeLessThan(3);
    await pool.stop(5_000);
    expect(stored).toHaveLength(3);
    expect(starts[1]!).toBeLessThan(stored[0]!);
    for (const id of ids) expect((await store.jobs.get(id))?.status).toBe("completed");
  } finally {
    await pool.stop(0);
    await store.close();
  }
});
