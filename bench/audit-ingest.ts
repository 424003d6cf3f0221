/**
 * Audit ingest rate: how many write-ahead records (and whole calls: record + outcome) per second
 * the store-backed auditor commits with group commit, on SQLite and on PostgreSQL, in one run.
 *
 *   bun bench/audit-ingest.ts [--calls 100000] [--concurrency 512] [--only sqlite,postgres]
 *
 * Each of `concurrency` workers is a closed loop, as the gateway's pipeline is per call: await
 * begin() (the record is committed). Two runs per store:
 *   records/s — write-ahead records alone: begin() calls resolved per second (as refusals, which
 *               are one record each, are written);
 *   calls/s   — whole calls: begin(), then finish() without waiting, as the pipeline does; the
 *               clock stops when the last outcome is committed. A call costs an insert and an update.
 * SQLite runs on a temporary file (WAL, synchronous=NORMAL, as the gateway opens it); PostgreSQL on
 * MCPGW_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/test) in a schema of its own,
 * dropped afterwards. Targets (issue 6): ≥ 50k records/s SQLite, ≥ 20k records/s PostgreSQL.
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

const TARGETS = { sqlite: 50_000, postgres: 20_000 } as const;
type Target = keyof typeof TARGETS;

const { values } = parseArgs({
  options: {
    calls: { type: "string", default: "100000" },
    concurrency: { type: "string", default: "512" },
    only: { type: "string", default: "sqlite,postgres" },
  },
});
const calls = Number(values.calls);
const concurrency = Number(values.concurrency);
const only = values.only.split(",") as Target[];
if (!Number.isInteger(calls) || calls < 1 || !Number.isInteger(concurrency) || concurrency < 1 || only.some((t) => !(t in TARGETS))) {
  process.stderr.write("usage: bun bench/audit-ingest.ts [--calls N] [--concurrency N] [--only sqlite,postgres]\n");
  process.exit(2);
}

interface Result {
  target: Target;
  recordsPerSec: number;
  callsPerSec: number;
  /** Records and outcomes per transaction, in the calls run. */
  avgBatch: number;
  verified: boolean;
}

async function measure(target: Target, url: string): Promise<Result> {
  const store = openStore(url, { poolSize: 4 });
  await store.migrate();
  const auditor = await StoreAuditor.start({ repository: store.audit, logger: createLogger({ level: "silent" }), settings: { ...AUDIT_DEFAULTS, instance: `bench-${target}` } });
  try {
    /** Runs n calls through `concurrency` closed-loop workers; returns the milliseconds until all is committed. */
    const run = async (n: number, finish: boolean) => {
      let next = 0;
      const worker = async () => {
        while (next < n) {
          const i = next++;
          const entry = await auditor.begin({
            requestId: String(i), sessionId: "bench-session", subject: "bench", roles: ["dev"], clientName: "bench", clientVersion: "1",
            backend: "echo", target: "echo", method: "tools/call", arguments: { text: "hello", n: i },
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

const results: Result[] = [];
const skipped: string[] = [];
for (const target of only) {
  process.stderr.write(`measuring ${target}: ${calls} calls, ${concurrency} in flight…\n`);
  if (target === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "mcpgw-bench-audit-"));
    try {
      results.push(await measure("sqlite", `sqlite:${join(dir, "audit.db")}`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    continue;
  }
  const base = readEnv().testPostgresUrl ?? "postgres://postgres@127.0.0.1:5432/test";
  const schema = `bench_audit_${Date.now().toString(36)}`;
  const url = new URL(base);
  url.searchParams.set("schema", schema);
  try {
    results.push(await measure("postgres", url.toString()));
  } catch (err) {
    skipped.push(`postgres: ${(err as Error).message}`);
  } finally {
    const client = new pg.Client({ connectionString: base });
    await client.connect().then(() => client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)).catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString("en");
console.log(machineInfo());
console.log(`\nAudit ingest (group commit, ${fmt(calls)} calls, ${concurrency} in flight)\n`);
console.log("| store | records/s (write-ahead records) | calls/s (record + outcome) | writes per commit | chains verify | target (records/s) | |");
console.log("|---|---:|---:|---:|---|---:|---|");
for (const r of results) {
  console.log(`| ${r.target} | ${fmt(r.recordsPerSec)} | ${fmt(r.callsPerSec)} | ${r.avgBatch.toFixed(0)} | ${r.verified ? "yes" : "NO"} | ≥ ${fmt(TARGETS[r.target])} | ${r.recordsPerSec >= TARGETS[r.target] ? "PASS" : "FAIL"} |`);
}
for (const reason of skipped) console.log(`\nn/a — ${reason}`);
