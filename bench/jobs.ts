/**
 * Jobs: submit-to-start latency and the drain rate of 1,000 quick jobs, on SQLite and PostgreSQL,
 * side by side in one run. `npm run bench` runs it after the relay table; alone:
 *
 *   bun bench/jobs.ts [--jobs 1000] [--only sqlite,postgres] [--workers 4,16]
 *
 * Each run starts a real gateway in-process (the composition root of `mcpgw serve`, defaults:
 * write-ahead audit on, MCPGW_AUTH=off so the load needs no token) with the bench's stdio echo
 * server as the backend, and drives it over HTTP through POST /v1/jobs:
 *   submit→start — 100 jobs one at a time on an idle queue: from the job's creation (the submit
 *                  was accepted) to a worker starting it (startedAt), as the store records them;
 *   submit       — `jobs` submits from 32 concurrent clients: accepted jobs per second;
 *   drain        — those jobs from the first accepted to the last finished: jobs per second.
 * With the default 4 workers and with 16. PostgreSQL is MCPGW_TEST_PG_URL (default
 * postgres://postgres@127.0.0.1:5432/test), in a schema of its own, dropped afterwards.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { readEnv } from "../src/config/env.ts";
import { resolveSettings } from "../src/config/settings.ts";
import { startGateway } from "../src/gateway.ts";
import { createLogger } from "../src/log/logger.ts";
import { openStore } from "../src/store/open-store.ts";
import type { Store } from "../src/store/store.ts";
import { stdioEchoCommand } from "./peers.ts";
import { checkLine } from "./report.ts";
import { type JobsBenchRow, jobsDrainCheck } from "./store-targets.ts";

type StoreKind = JobsBenchRow["store"];
const LATENCY_SAMPLES = 100;
const SUBMITTERS = 32;
const WORKER_COUNTS = [4, 16] as const;

/** Runs every (store, workers) pair and returns the Markdown table with its heading and notes. */
export async function runJobsBench(
  options: { jobs?: number; only?: StoreKind[]; workers?: readonly number[]; progress?: (text: string) => void } = {},
): Promise<string> {
  const jobs = options.jobs ?? 1_000;
  const progress = options.progress ?? ((text: string) => console.error(`[bench:jobs] ${text}`));
  const rows: JobsBenchRow[] = [];
  const skipped: string[] = [];
  for (const store of options.only ?? (["sqlite", "postgres"] as const)) {
    for (const workers of options.workers ?? WORKER_COUNTS) {
      progress(`${store}, ${workers} workers`);
      try {
        rows.push(await measure(store, workers, jobs));
        const row = rows.at(-1)!;
        progress(
          `  submit→start p50 ${row.startP50Ms} ms, p99 ${row.startP99Ms} ms; submit ${Math.round(row.submitPerSec)}/s; drain ${Math.round(row.drainPerSec)}/s`,
        );
      } catch (err) {
        skipped.push(`${store} (${workers} workers): ${err instanceof Error ? err.message : String(err)}`);
        progress(`  n/a: ${skipped.at(-1)}`);
      }
    }
  }
  const table = [
    `### Jobs: ${jobs.toLocaleString("en")} quick jobs (stdio echo backend, audit on)`,
    "",
    "| store | workers | submit→start p50 ms | p99 ms | submit jobs/s | drain jobs/s | drained in s |",
    "|---|--:|--:|--:|--:|--:|--:|",
    ...rows.map(
      (r) =>
        `| ${r.store} | ${r.workers} | ${r.startP50Ms} | ${r.startP99Ms} | ${Math.round(r.submitPerSec).toLocaleString("en")} | ${Math.round(r.drainPerSec).toLocaleString("en")} | ${r.drainSeconds.toFixed(1)} |`,
    ),
    "",
    `submit→start: ${LATENCY_SAMPLES} jobs one at a time on an idle queue (store timestamps, ms resolution); submit: ${SUBMITTERS} concurrent HTTP clients; drain: first accepted to last finished.`,
    ...skipped.map((line) => `n/a: ${line}`),
    "",
    "Targets:",
    checkLine(jobsDrainCheck(rows, jobs)),
  ];
  return table.join("\n");
}

async function measure(kind: StoreKind, workers: number, jobs: number): Promise<JobsBenchRow> {
  const database = await openDatabase(kind);
  // The bench's own connection (set-up, then watching the jobs end), apart from the gateway's pool:
  // polling through the gateway's pool would queue the workers' claims and commits behind it.
  const watcher = openStore(database.url, { poolSize: 2 }); // two: migrate holds one for its lock
  try {
    await watcher.migrate();
    const now = Date.now();
    const backend = { name: "echo", transport: "stdio", command: stdioEchoCommand(), env: {}, headers: {}, timeoutMs: 30_000 } as const;
    await watcher.backends.add({ ...backend, createdAt: now, updatedAt: now });
  } catch (err) {
    await watcher.close();
    await database.drop();
    throw err;
  }
  const settings = resolveSettings(
    { db: database.url, port: "0" },
    { auth: "off", jobWorkers: String(workers), auditInstance: `bench-jobs-${kind}-${workers}` },
  );
  const gateway = await startGateway(settings, createLogger({ level: "silent" }), "bench", process.env);
  const base = gateway.url.origin;
  const submit = async (text: string): Promise<string> => {
    const response = await fetch(`${base}/v1/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ backend: "echo", tool: "echo", arguments: { text } }),
    });
    if (response.status !== 202) throw new Error(`submit answered ${response.status}: ${await response.text()}`);
    return ((await response.json()) as { id: string }).id;
  };
  try {
    await untilEnded(watcher, [await submit("warm-up")]);
    const startDelays: number[] = [];
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      const id = await submit(`latency-${i}`);
      const [job] = await untilEnded(watcher, [id], 1);
      startDelays.push(job!.startedAt! - job!.createdAt);
    }
    startDelays.sort((a, b) => a - b);

    const ids: string[] = [];
    const submitStarted = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: SUBMITTERS }, async () => {
        while (next < jobs) {
          next += 1;
          ids.push(await submit(`drain-${next}`));
        }
      }),
    );
    const submitSeconds = (performance.now() - submitStarted) / 1_000;
    await untilQueueEmpty(watcher, 20);
    const ended = await untilEnded(watcher, ids);
    const failed = ended.filter((job) => job.status !== "completed");
    if (failed.length > 0) throw new Error(`${failed.length} jobs did not complete (first: ${failed[0]!.status} ${failed[0]!.error?.message ?? ""})`);
    const first = Math.min(...ended.map((job) => job.createdAt));
    const last = Math.max(...ended.map((job) => job.finishedAt!));
    const drainSeconds = (last - first) / 1_000;
    return {
      store: kind,
      workers,
      startP50Ms: startDelays[Math.floor(startDelays.length / 2)]!,
      startP99Ms: startDelays[Math.min(startDelays.length - 1, Math.floor(startDelays.length * 0.99))]!,
      submitPerSec: jobs / submitSeconds,
      drainPerSec: jobs / drainSeconds,
      drainSeconds,
    };
  } finally {
    await gateway.shutdown();
    await watcher.close();
    await database.drop();
  }
}

/** Waits until no job is queued or working, with one query per poll (pollMs apart), however many jobs there are. */
async function untilQueueEmpty(store: Store, pollMs: number): Promise<void> {
  const deadline = Date.now() + 300_000;
  for (;;) {
    const counts = await store.jobs.countByStatus();
    if (!counts.queued && !counts.working) return;
    if (Date.now() > deadline) throw new Error("jobs did not end within 5 minutes");
    await Bun.sleep(pollMs);
  }
}

/** Waits until every job has ended, polling the store (pollMs apart); returns them. */
async function untilEnded(store: Store, ids: string[], pollMs = 2) {
  const deadline = Date.now() + 300_000;
  for (;;) {
    const jobs = await Promise.all(ids.map((id) => store.jobs.get(id)));
    if (jobs.every((job) => job && ["completed", "failed", "cancelled"].includes(job.status))) return jobs.map((job) => job!);
    if (Date.now() > deadline) throw new Error("jobs did not end within 5 minutes");
    await Bun.sleep(pollMs);
  }
}

async function openDatabase(kind: StoreKind): Promise<{ url: string; drop(): Promise<void> }> {
  if (kind === "sqlite") {
    const folder = mkdtempSync(join(tmpdir(), "mcpgw-bench-jobs-"));
    return { url: `sqlite:${join(folder, "jobs.db")}`, drop: async () => rmSync(folder, { recursive: true, force: true }) };
  }
  const server = readEnv().testPostgresUrl ?? "postgres://postgres@127.0.0.1:5432/test";
  const schema = `bench_jobs_${Date.now().toString(36)}_${crypto.randomUUID().slice(0, 6)}`;
  const url = new URL(server);
  url.searchParams.set("schema", schema);
  const probe = new pg.Client({ connectionString: server, connectionTimeoutMillis: 3_000 });
  await probe.connect().catch((err) => {
    throw new Error(`PostgreSQL at ${server} is unreachable (${err instanceof Error ? err.message : String(err)})`);
  });
  await probe.end();
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: server });
      await client
        .connect()
        .then(() => client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`))
        .catch(() => undefined);
      await client.end().catch(() => undefined);
    },
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      jobs: { type: "string", default: "1000" },
      only: { type: "string", default: "sqlite,postgres" },
      workers: { type: "string", default: WORKER_COUNTS.join(",") },
    },
  });
  const workers = values.workers.split(",").map(Number);
  const jobs = Number(values.jobs);
  const only = values.only.split(",") as StoreKind[];
  const whole = (n: number) => Number.isInteger(n) && n >= 1;
  if (!whole(jobs) || only.some((kind) => kind !== "sqlite" && kind !== "postgres") || !workers.every(whole)) {
    process.stderr.write("usage: bun bench/jobs.ts [--jobs N] [--only sqlite,postgres] [--workers 4,16]\n");
    process.exit(2);
  }
  console.log(await runJobsBench({ jobs, only, workers }));
}
