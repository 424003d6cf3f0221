/**
 * The store-side targets of `npm run bench`, apart from the benches that measure them (so that
 * test/bench-report.test.ts can judge made-up figures without opening a database): the audit
 * ingest rate (bench/audit-ingest.ts) and the jobs drain (bench/jobs.ts).
 */
import { type Check, checkLine } from "./report.ts";

/** Write-ahead records per second, median of the runs: issue 6 for SQLite, issue 17 for PostgreSQL. */
export const INGEST_TARGETS = { sqlite: 50_000, postgres: 30_000 } as const;
export type IngestStore = keyof typeof INGEST_TARGETS;

export interface IngestResult {
  target: IngestStore;
  recordsPerSec: number;
  callsPerSec: number;
  /** Records and outcomes per transaction, in the calls run. */
  avgBatch: number;
  verified: boolean;
}

export interface JobsBenchRow {
  store: "sqlite" | "postgres";
  workers: number;
  startP50Ms: number;
  startP99Ms: number;
  submitPerSec: number;
  drainPerSec: number;
  drainSeconds: number;
}

/** The table (one line per store: medians of its runs, with the range) and the targets. */
export function formatAuditIngest(input: { calls: number; concurrency: number; runs: IngestResult[][]; skipped: string[] }): string {
  const medians = input.runs.filter((runs) => runs.length > 0).map(summarize);
  return [
    `### Audit ingest (group commit, ${fmt(input.calls)} calls, ${input.concurrency} in flight; medians of runs, each on a fresh database)`,
    "",
    "| store | runs | records/s (write-ahead records) | range | calls/s (record + outcome) | writes per commit | chains verify |",
    "|---|--:|--:|--:|--:|--:|---|",
    ...medians.map((m) => {
      const range = `${fmt(m.min)}–${fmt(m.max)}`;
      const cells = [m.target, m.runs, fmt(m.recordsPerSec), range, fmt(m.callsPerSec), m.avgBatch.toFixed(0), m.verified ? "yes" : "NO"];
      return `| ${cells.join(" | ")} |`;
    }),
    ...input.skipped.map((reason) => `n/a: ${reason}`),
    "",
    "Targets:",
    ...ingestChecks(input.runs).map((check) => checkLine(check)),
  ].join("\n");
}

/** Each store's records/s (median of its runs) against its target; a run whose chains did not verify fails it. */
export function ingestChecks(runs: IngestResult[][]): Check[] {
  return (Object.keys(INGEST_TARGETS) as IngestStore[]).flatMap((target): Check[] => {
    const own = runs.find((r) => r[0]?.target === target);
    const label = `${target} audit ingest ≥ ${fmt(INGEST_TARGETS[target])} write-ahead records/s (median of runs)`;
    if (own === undefined || own.length === 0) return [{ label, status: "n/a", detail: `no runs on ${target}` }];
    const m = summarize(own);
    const met = m.recordsPerSec >= INGEST_TARGETS[target] && m.verified;
    const detail = `${fmt(m.recordsPerSec)} records/s over ${m.runs} runs (${fmt(m.min)}–${fmt(m.max)})${m.verified ? "" : ", a chain did not verify"}`;
    return [{ label, status: met ? "PASS" : "FAIL", detail }];
  });
}

/** The median run by records/s (for an even count, the slower of the middle two), with the range. */
function summarize(runs: IngestResult[]) {
  const sorted = [...runs].sort((a, b) => a.recordsPerSec - b.recordsPerSec);
  const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
  const byCalls = [...runs].sort((a, b) => a.callsPerSec - b.callsPerSec);
  return {
    target: median.target,
    runs: runs.length,
    recordsPerSec: median.recordsPerSec,
    min: sorted[0]!.recordsPerSec,
    max: sorted.at(-1)!.recordsPerSec,
    callsPerSec: byCalls[Math.floor((byCalls.length - 1) / 2)]!.callsPerSec,
    avgBatch: median.avgBatch,
    verified: runs.every((r) => r.verified),
  };
}

export function fmt(n: number): string {
  return Math.round(n).toLocaleString("en");
}

/** The share of SQLite's drain rate PostgreSQL must reach with the default 4 workers, in the same run (issue 17). */
export const PG_DRAIN_SHARE = 0.5;

/** Issue 17: PostgreSQL drains the quick jobs with 4 workers at ≥ 50 % of SQLite's rate, in the same run. */
export function jobsDrainCheck(rows: JobsBenchRow[], jobs: number): Check {
  const label = `PostgreSQL drains ${jobs.toLocaleString("en")} quick jobs with 4 workers at ≥ ${PG_DRAIN_SHARE * 100}% of SQLite's rate (same run)`;
  const [sqlite, postgres] = (["sqlite", "postgres"] as const).map((store) => rows.find((row) => row.store === store && row.workers === 4));
  if (sqlite === undefined || postgres === undefined) {
    return { label, status: "n/a", detail: `no numbers for ${[sqlite ? [] : "SQLite", postgres ? [] : "PostgreSQL"].flat().join(" and ")}` };
  }
  const share = postgres.drainPerSec / sqlite.drainPerSec;
  const detail = `${Math.round(share * 100)}%: ${fmt(postgres.drainPerSec)} vs ${fmt(sqlite.drainPerSec)} jobs/s`;
  return { label, status: share >= PG_DRAIN_SHARE ? "PASS" : "FAIL", detail };
}
