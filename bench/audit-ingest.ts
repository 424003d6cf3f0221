/**
 * Audit ingest rate: how many write-ahead records (and whole calls: record + outcome) per second
 * the store-backed auditor commits with group commit, on SQLite and on PostgreSQL, in one run.
 * `npm run bench` runs it after the relay table; alone:
 *
 *   bun bench/audit-ingest.ts [--calls 100000] [--concurrency 512] [--runs 5] [--only sqlite,postgres]
 *
 * Each of `concurrency` workers is a closed loop, as the gateway's pipeline is per call: await
 * begin() (the record is committed). Two measurements per run:
 *   records/s — write-ahead records alone: begin() calls resolved per second (as refusals, which
 *               are one record each, are written);
 *   calls/s   — whole calls: begin(), then finish() without waiting, as the pipeline does; the
 *               clock stops when the last outcome is committed.
 * Each run is a fresh database: SQLite a temporary file (WAL, synchronous=NORMAL, as the gateway
 * opens it); PostgreSQL MCPGW_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/test) in a
 * schema of its own, dropped afterwards. The stores alternate run by run, and each store's figure
 * is the median of `--runs`. Targets: ≥ 50k records/s SQLite (issue 6), ≥ 30k records/s
 * PostgreSQL (issue 17, median of 5 runs).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { AUDIT_DEFAULTS } from "../src/config/audit-settings.ts";
import { StoreAuditor } from "../src/audit/store-auditor.ts";
import { verifyAllChains } from "../src/audit/verify-chains.ts";
import { readEnv } from "../src/config/env.ts";
import { createLogger } from "../src/log/logger.ts";
import { openStore } from "../src/store/open-store.ts";
import { machineInfo } from "./machine-info.ts";
import { type IngestResult, type IngestStore, INGEST_TARGETS, fmt, formatAuditIngest } from "./store-targets.ts";

async function measure(target: IngestStore, url: string, calls: number, concurrency: number): Promise<IngestResult> {
  const store = openStore(url, { poolSize: 4 });
  await store.migrate();
  const auditor = await StoreAuditor.start({
    repository: store.audit,
    logger: createLogger({ level: "silent" }),
    settings: { ...AUDIT_DEFAULTS, instance: `bench-${target}` },
  });
  try {
    /** Runs n calls through `concurrency` closed-loop workers; returns the milliseconds until all is committed. */
    const run = async (n: number, finish: boolean) => {
      let next = 0;
      const worker = async () => {
        while (next < n) {
          const i = next++;
          const entry = await auditor.begin({
            requestId: String(i),
            sessionId: "bench-session",
            subject: "bench",
            roles: ["dev"],
            clientName: "bench",
            clientVersion: "1",
            backend: "echo",
            target: "echo",
            method: "tools/call",
            arguments: { text: "hello", n: i },
          });
          if (finish) entry.finish({ status: "ok" });
        }
      };
      const started = performance.now();
      await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
      await auditor.idle();
      return performance.now() - started;
    };
    await run(Math.min(5_000, calls), true); // warm-up: JIT, statement caches, pool connections
    const commitsBefore = auditor.stats.commits;
    const committedBefore = auditor.stats.committed;
    const callsMs = await run(calls, true);
    const commits = auditor.stats.commits - commitsBefore;
    const written = auditor.stats.committed - committedBefore;
    // After the calls run: its begin-only records stay pending, which the calls run should not pay for.
    const recordsMs = await run(calls, false);
    const verified = (await verifyAllChains(store.audit)).every((report) => report.ok);
    return {
      target,
      recordsPerSec: calls / (recordsMs / 1_000),
      callsPerSec: calls / (callsMs / 1_000),
      avgBatch: written / Math.max(1, commits),
      verified,
    };
  } finally {
    await auditor.close();
    await store.close();
  }
}

/** One run on a fresh database of `target`. */
async function measureOnce(target: IngestStore, calls: number, concurrency: number): Promise<IngestResult> {
  if (target === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "mcpgw-bench-audit-"));
    try {
      return await measure("sqlite", `sqlite:${join(dir, "audit.db")}`, calls, concurrency);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const base = readEnv().testPostgresUrl ?? "postgres://postgres@127.0.0.1:5432/test";
  const schema = `bench_audit_${Date.now().toString(36)}_${crypto.randomUUID().slice(0, 6)}`;
  const url = new URL(base);
  url.searchParams.set("schema", schema);
  try {
    return await measure("postgres", url.toString(), calls, concurrency);
  } finally {
    const client = new pg.Client({ connectionString: base });
    await client
      .connect()
      .then(() => client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`))
      .catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

export interface AuditIngestOptions {
  calls?: number;
  concurrency?: number;
  runs?: number;
  only?: IngestStore[];
  progress?: (text: string) => void;
}

/** Runs every store `runs` times, alternating, and returns the table with its targets. */
export async function runAuditIngestBench(options: AuditIngestOptions = {}): Promise<string> {
  const { calls = 100_000, concurrency = 512, runs = 5, only = ["sqlite", "postgres"] } = options;
  const progress = options.progress ?? ((text: string) => console.error(`[bench:audit] ${text}`));
  const results = new Map<IngestStore, IngestResult[]>();
  const skipped = new Map<IngestStore, string>();
  for (let run = 1; run <= runs; run++) {
    for (const target of only) {
      if (skipped.has(target)) continue;
      progress(`${target}, run ${run} of ${runs}: ${calls.toLocaleString("en")} calls, ${concurrency} in flight`);
      try {
        const result = await measureOnce(target, calls, concurrency);
        results.set(target, [...(results.get(target) ?? []), result]);
        progress(`  ${fmt(result.recordsPerSec)} records/s, ${fmt(result.callsPerSec)} calls/s, ${result.avgBatch.toFixed(0)} writes per commit`);
      } catch (err) {
        skipped.set(target, err instanceof Error ? err.message : String(err));
        progress(`  n/a: ${skipped.get(target)}`);
      }
    }
  }
  return formatAuditIngest({ calls, concurrency, runs: [...results.values()], skipped: [...skipped].map(([target, reason]) => `${target}: ${reason}`) });
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      calls: { type: "string", default: "100000" },
      concurrency: { type: "string", default: "512" },
      runs: { type: "string", default: "5" },
      only: { type: "string", default: "sqlite,postgres" },
    },
  });
  const [calls, concurrency, runs] = [Number(values.calls), Number(values.concurrency), Number(values.runs)];
  const only = values.only.split(",") as IngestStore[];
  const whole = (n: number) => Number.isInteger(n) && n >= 1;
  if (!whole(calls) || !whole(concurrency) || !whole(runs) || only.some((t) => !(t in INGEST_TARGETS))) {
    process.stderr.write("usage: bun bench/audit-ingest.ts [--calls N] [--concurrency N] [--runs N] [--only sqlite,postgres]\n");
    process.exit(2);
  }
  const machine = machineInfo();
  const load = `load average ${machine.loadAverage.toFixed(2)} at start`;
  console.log(`mcpgw audit ingest · ${machine.date} · nproc ${machine.nproc} · ${machine.cpuModel} · Bun ${machine.bunVersion} · ${load}\n`);
  console.log(await runAuditIngestBench({ calls, concurrency, runs, only }));
}
