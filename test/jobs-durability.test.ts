/**
 * Jobs outlive the gateway that took them: a SIGKILLed gateway's queued jobs run after a restart,
 * its interrupted ones are retried when idempotent and failed otherwise (SQLite and Postgres);
 * two gateways on one Postgres drain a shared queue with no job run twice and none lost. The
 * gateways are real `mcpgw serve` processes; the backend (test/fixtures/work-server.ts) writes
 * every execution to a log, which is what the tests count.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import type { JobView } from "../src/jobs/job-api-schemas.ts";
import type { JobStatus } from "../src/jobs/job-record.ts";
import { openStore } from "../src/store/open-store.ts";
import { REPO_ROOT, cleanEnv } from "./helpers/cli.ts";
import { BUN, backendSpec } from "./helpers/gateway.ts";
import { isolatedSchema, postgresAvailable } from "./helpers/postgres.ts";
import { type StartedProcess, startProcess } from "./helpers/process.ts";
import { tempDir } from "./helpers/temp-dir.ts";

const dir = tempDir("mcpgw-jobs-durable-");
afterAll(() => dir.remove());

function workBackend(log: string) {
  return backendSpec({ name: "work", command: [BUN, join(REPO_ROOT, "test/fixtures/work-server.ts"), "--stdio"], env: { WORK_LOG: log } });
}

function lines(log: string): string[] {
  try {
    return readFileSync(log, "utf8")
      .split("\n")
      .filter((line) => line !== "");
  } catch {
    return [];
  }
}

async function until(what: string, ms: number, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await Bun.sleep(100);
  }
}

async function serve(databaseUrl: string, env: Record<string, string>): Promise<{ process: StartedProcess; base: string }> {
  const gateway = await startProcess([BUN, join(REPO_ROOT, "cli/main.ts"), "serve", "--port", "0", "--db", databaseUrl], /mcpgw listening/, {
    ...cleanEnv(),
    MCPGW_AUTH: "off",
    MCPGW_LOG_LEVEL: "info",
    ...env,
  });
  return { process: gateway, base: new URL(/"url":"([^"]+)"/.exec(gateway.output())![1]!).origin };
}

const STORES = [
  { name: "SQLite", url: async () => ({ url: `sqlite:${join(dir.path, `restart-${crypto.randomUUID().slice(0, 8)}.db`)}`, drop: async () => undefined }) },
  { name: "PostgreSQL", url: async () => ((await postgresAvailable()) ? isolatedSchema("jobs_restart") : undefined) },
];

describe.each(STORES)("jobs survive a gateway SIGKILL and restart ($name)", ({ url }) => {
  test("queued jobs run; the interrupted idempotent job is retried, the other fails as interrupted", async (context) => {
    const database = await url();
    if (!database) return context.skip("PostgreSQL unavailable");
    const log = join(dir.path, `work-${crypto.randomUUID().slice(0, 8)}.log`);
    const setup = openStore(database.url);
    await setup.migrate();
    await setup.backends.add(workBackend(log));
    await setup.close();
    const settings = { MCPGW_JOB_WORKERS: "2", MCPGW_JOB_LEASE: "2s" };
    let first: Awaited<ReturnType<typeof serve>> | undefined = await serve(database.url, settings);
    let second: Awaited<ReturnType<typeof serve>> | undefined;
    try {
      const submit = async (base: string, tool: string, key: string, ms: number) => {
        const response = await fetch(`${base}/v1/jobs`, { method: "POST", body: JSON.stringify({ backend: "work", tool, arguments: { key, ms } }) });
        expect(response.status).toBe(202);
        return ((await response.json()) as JobView).id;
      };
      const retried = await submit(first.base, "work-idempotent", "retried", 4_000);
      const interrupted = await submit(first.base, "work", "interrupted", 4_000);
      const queued = await submit(first.base, "work", "queued", 0);
      // Both workers busy, the third job waits; then the gateway dies mid-call.
      await until("both running jobs at the backend", 15_000, () => lines(log).includes("start retried") && lines(log).includes("start interrupted"));
      first.process.kill("SIGKILL");
      await first.process.exited;
      first = undefined;
      expect(lines(log)).not.toContain("start queued");

      second = await serve(database.url, settings);
      const base = second.base;
      const view = async (id: string) => (await (await fetch(`${base}/v1/jobs/${id}`)).json()) as JobView;
      const ended = (status: JobStatus) => status === "completed" || status === "failed" || status === "cancelled";
      await until("every job ended", 30_000, async () => (await Promise.all([retried, interrupted, queued].map(view))).every((job) => ended(job.status)));
      expect(await view(queued)).toMatchObject({ status: "completed", attempts: 1 });
      expect(await view(retried)).toMatchObject({ status: "completed", attempts: 2, result: { content: [{ text: "worked on retried" }] } });
      const failed = await view(interrupted);
      expect(failed).toMatchObject({ status: "failed", attempts: 1 });
      expect(failed.error?.message).toMatch(
        /^interrupted: the gateway running this job stopped before the call finished; tool "work" is not marked idempotent/,
      );
      const executions = lines(log);
      expect(executions.filter((line) => line === "start retried")).toHaveLength(2);
      expect(executions.filter((line) => line === "start interrupted")).toHaveLength(1);
      expect(executions).toContain("end queued");
    } finally {
      first?.process.kill("SIGKILL");
      second?.process.kill("SIGTERM");
      await Promise.all([first?.process.exited, second?.process.exited]);
      await database.drop();
    }
  }, 90_000);
});

describe("two gateways on one PostgreSQL drain a shared queue", () => {
  test("1,000 queued jobs: each run exactly once, none lost, both gateways working", async (context) => {
    if (!(await postgresAvailable())) return context.skip("PostgreSQL unavailable");
    const database = await isolatedSchema("jobs_drain");
    const log = join(dir.path, "drain.log");
    const store = openStore(database.url);
    const gateways: Awaited<ReturnType<typeof serve>>[] = [];
    try {
      await store.migrate();
      await store.backends.add(workBackend(log));
      const now = Date.now();
      const keys = Array.from({ length: 1_000 }, (_, i) => `job-${i}`);
      for (const [i, key] of keys.entries()) {
        await store.jobs.create({
          id: crypto.randomUUID(),
          owner: "anonymous",
          roles: [],
          origin: "rest",
          backend: "work",
          tool: "work",
          arguments: { key },
          idempotent: false,
          ttlMs: 3_600_000,
          createdAt: now + i,
        });
      }
      for (let i = 0; i < 2; i++) gateways.push(await serve(database.url, { MCPGW_JOB_WORKERS: "8", MCPGW_AUDIT_INSTANCE: `drain-${i}` }));
      const remaining = async () =>
        (await store.jobs.list({ status: "queued", limit: 1 })).length + (await store.jobs.list({ status: "working", limit: 1 })).length;
      await until("the queue drained", 120_000, async () => (await remaining()) === 0);

      const completed = await store.jobs.list({ status: "completed", limit: 2_000 });
      expect(completed).toHaveLength(1_000);
      expect(completed.every((job) => job.attempts === 1)).toBe(true);
      const starts = lines(log).filter((line) => line.startsWith("start "));
      expect(starts).toHaveLength(1_000);
      expect(new Set(starts).size).toBe(1_000);
      expect(lines(log).filter((line) => line.startsWith("end "))).toHaveLength(1_000);
      // Both replicas took part: each gateway's audit chain holds some of the runs.
      const runs = await store.audit.list({ filter: { tool: "work/work" }, limit: 5_000 });
      const perChain = new Map<string, number>();
      for (const run of runs.filter((r) => r.method === "jobs/run")) perChain.set(run.chainId, (perChain.get(run.chainId) ?? 0) + 1);
      expect([...perChain.values()].reduce((a, b) => a + b, 0)).toBe(1_000);
      expect(perChain.size).toBe(2);
    } finally {
      for (const gateway of gateways) gateway.process.kill("SIGTERM");
      await Promise.all(gateways.map((gateway) => gateway.process.exited));
      await store.close();
      await database.drop();
    }
  }, 180_000);
});
