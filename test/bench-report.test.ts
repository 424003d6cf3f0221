import { describe, expect, it } from "vitest";
import type { LoadResult } from "../bench/load.ts";
import { type IngestResult, formatAuditIngest, ingestChecks } from "../bench/store-targets.ts";
import { type JobsBenchRow, jobsDrainCheck } from "../bench/store-targets.ts";
import { type Row, type RowKey, formatReport, medianInterval, medianRow } from "../bench/report.ts";

const machine = { date: "2026-11-26T17:00:00Z", nproc: 2, cpuModel: "test CPU", bunVersion: "1.4.5", os: "linux", loadAverage: 0 };

function row(key: RowKey, callsPerSecond: number, p50Ms: number, p99Ms: number, errors = 0, cpuPerCall?: LoadResult["cpuPerCall"]): Row {
  const result: LoadResult = { calls: callsPerSecond * 8, callsPerSecond, p50Ms, p99Ms, errors, ...(cpuPerCall && { cpuPerCall }) };
  return { key, label: key, result };
}

/** A CPU per call whose main thread is 80% of the process's. */
const cpu = (processUs: number) => ({ processUs, mainThreadUs: processUs * 0.8 });

function report(rows: Row[]): string {
  return formatReport({ machine, context: [], rows, notes: [], commands: {} });
}

function line(text: string, containing: string): string {
  return text.split("\n").find((l) => l.includes(containing)) ?? "";
}

describe("bench report", () => {
  it("shows the first round's throughput targets as information only, for mcpgw and the reference relay", () => {
    const text = report([
      row("direct", 20_000, 0.8, 3),
      row("mcpgw-http", 8_000, 2.0, 8),
      row("mcpgw-stdio", 9_000, 1.5, 7, 0, { processUs: 101.4, mainThreadUs: 84.6 }),
      row("mcp-proxy", 1_000, 8, 30),
      row("reference-http", 16_000, 1.0, 4),
      row("reference-stdio", 9_500, 1.3, 6),
    ]);
    expect(line(text, "mcpgw → stdio echo ≥ 10×")).toMatch(/^\s+not met\s.*9\.0× throughput/);
    expect(line(text, "mcpgw → HTTP echo ≥ 45%")).toMatch(/^\s+not met\s.*40% of direct, added p50 \+1\.20 ms/);
    expect(text).toContain("retired by issue 17; information only");
    expect(text).not.toMatch(/^\s+(PASS|FAIL)\s.*(≥ 10×|≥ 45%|throughput)/m);
    // The target process's CPU per call, all threads (main thread), where it was measured.
    // The multiple needs the reference relay's CPU per call too, which these rows lack.
    expect(line(text, "| mcpgw-stdio |")).toMatch(/\| 101 \(85\) \| n\/a \|$/);
    expect(line(text, "| mcpgw-http |")).toMatch(/\| n\/a \| n\/a \|$/);
    // 9.5× is short of 10×: out of reach for any relay here. 80% of direct with +0.2 ms: reachable.
    expect(line(text, "reference relay → stdio echo ≥ 10×")).toMatch(/^\s+out of reach\s.*9\.5× throughput/);
    expect(line(text, "reference relay → HTTP echo ≥ 45%")).toMatch(/^\s+reachable\s.*80% of direct, added p50 \+0\.20 ms/);
  });

  it("compares the modern client's CPU per call with the legacy client's, per backend", () => {
    const text = report([
      row("mcpgw-stdio", 9_000, 1.5, 7, 0, cpu(101.4)),
      row("mcpgw-modern-stdio", 9_500, 1.4, 6, 0, cpu(96.2)),
      row("mcpgw-http", 8_000, 2.0, 8, 0, cpu(80)),
      row("mcpgw-modern-http", 7_500, 2.1, 9, 0, cpu(92)),
    ]);
    expect(line(text, "mcpgw → stdio echo: modern client CPU per call ≤ legacy client's")).toMatch(/^\s+PASS\s.*\(0\.95× the legacy client's: 96 vs 101 µs\)$/);
    expect(line(text, "mcpgw → HTTP echo: modern client CPU per call ≤ legacy client's")).toMatch(/^\s+FAIL\s.*\(1\.15× the legacy client's: 92 vs 80 µs\)$/);
    expect(line(text, "| mcpgw-modern-stdio |")).toMatch(/\| 96 \(77\) \| n\/a \|$/);
  });

  it("says why the modern comparison has no verdict, and fails a modern row with errors", () => {
    const withoutCpu = report([row("mcpgw-stdio", 9_000, 1.5, 7), row("mcpgw-modern-stdio", 9_500, 1.4, 6)]);
    expect(line(withoutCpu, "stdio echo: modern client CPU")).toMatch(/^\s+n\/a\s.*\(CPU per call not measured \(Linux only\)\)$/);
    expect(line(withoutCpu, "HTTP echo: modern client CPU")).toMatch(
      /^\s+n\/a\s.*no numbers for mcpgw \(legacy client\) → HTTP echo and mcpgw \(modern client\) → HTTP echo/,
    );
    const cpu = { processUs: 50, mainThreadUs: 40 };
    const withErrors = report([row("mcpgw-http", 8_000, 2.0, 8, 0, { processUs: 80, mainThreadUs: 60 }), row("mcpgw-modern-http", 8_000, 2.0, 8, 3, cpu)]);
    expect(line(withErrors, "HTTP echo: modern client CPU")).toMatch(/^\s+FAIL\s.*0\.63× the legacy client's: 50 vs 80 µs, 3 errors through the relay/);
  });

  it("fails a fast relay row that had errors, and leaves the ceiling out when no reference row ran", () => {
    const text = report([row("direct", 20_000, 0.8, 3), row("mcpgw-http", 19_000, 0.9, 3, 5)]);
    expect(line(text, "mcpgw → HTTP echo ≥ 45%")).toMatch(/^\s+not met\s.*5 errors through the relay/);
    expect(text).not.toContain("reference relay → HTTP echo ≥ 45%");
  });

  it("prints each row's CPU per call as a multiple of the reference relay's over the same transport, and judges issue 17's bounds", () => {
    const text = report([
      row("direct", 20_000, 0.8, 3, 0, cpu(29)),
      row("mcpgw-http", 8_000, 2.0, 8, 0, cpu(100)),
      row("mcpgw-stdio", 9_000, 1.5, 7, 0, cpu(56)),
      row("mcpgw-stdio-defaults", 6_000, 2.5, 9, 0, cpu(101)),
      row("mcp-proxy", 1_000, 8, 30, 0, cpu(733)),
      row("reference-http", 9_000, 1.5, 6, 0, cpu(80)),
      row("reference-stdio", 12_000, 1.1, 5, 0, cpu(50)),
    ]);
    expect(line(text, "| mcpgw-stdio |")).toMatch(/\| 56 \(45\) \| 1\.12× \|$/);
    expect(line(text, "| mcpgw-http |")).toMatch(/\| 100 \(80\) \| 1\.25× \|$/);
    expect(line(text, "| mcp-proxy |")).toMatch(/\| 14\.66× \|$/);
    expect(line(text, "| reference-stdio |")).toMatch(/\| 1\.00× \|$/);
    expect(line(text, "| direct |")).toMatch(/\| 29 \(23\) \| — \|$/);
    expect(line(text, "stdio echo, relay only: CPU per call ≤ 1.25×")).toMatch(/^\s+PASS\s.*\(1\.12×: 56 vs 50 µs\)$/);
    expect(line(text, "HTTP echo, relay only: CPU per call ≤ 1.25×")).toMatch(/^\s+PASS\s.*\(1\.25×: 100 vs 80 µs\)$/);
    expect(line(text, "default install (auth, RBAC, write-ahead audit on SQLite): CPU per call ≤ 2×")).toMatch(/^\s+FAIL\s.*\(2\.02×: 101 vs 50 µs\)$/);
  });

  it("reports the checked reference relay's cost over the plain one, per transport, as information", () => {
    const text = report([
      row("reference-http", 9_000, 1.5, 6, 0, cpu(45)),
      row("reference-stdio", 12_000, 1.1, 5, 0, cpu(29)),
      row("reference-checks-http", 8_000, 1.6, 6, 0, cpu(61.1)),
      row("reference-checks-stdio", 11_000, 1.2, 5, 0, cpu(34.2)),
    ]);
    expect(line(text, "| reference-checks-stdio |")).toMatch(/\| 1\.18× \|$/);
    expect(line(text, "| reference-checks-http |")).toMatch(/\| 1\.36× \|$/);
    expect(line(text, "unavoidable checks → stdio echo")).toMatch(/^\s+info\s.*\(1\.18× the reference relay's CPU per call, \+5\.2 µs\)$/);
    expect(line(text, "unavoidable checks → HTTP echo")).toMatch(/^\s+info\s.*\(1\.36× the reference relay's CPU per call, \+16\.1 µs\)$/);
    const without = report([row("reference-stdio", 12_000, 1.1, 5, 0, cpu(29))]);
    expect(line(without, "unavoidable checks → stdio echo")).toMatch(/^\s+n\/a\s.*not measured in this run/);
  });

  it("says why a multiple has no verdict: no reference row, or no CPU figures", () => {
    const text = report([row("mcpgw-stdio", 9_000, 1.5, 7, 0, { processUs: 56, mainThreadUs: 45 }), row("reference-http", 9_000, 1.5, 6)]);
    expect(line(text, "| mcpgw-stdio |")).toMatch(/\| n\/a \|$/);
    expect(line(text, "stdio echo, relay only: CPU per call")).toMatch(/^\s+n\/a\s.*no numbers for reference-stdio/);
    expect(line(text, "HTTP echo, relay only: CPU per call")).toMatch(/^\s+n\/a\s.*no numbers for mcpgw → HTTP echo, relay only\)$/);
  });

  it("reports each feature's added µs per call over the relay alone, with issue 17's bounds where it sets one", () => {
    const text = report([
      row("mcpgw-stdio", 9_000, 1.5, 7, 0, cpu(56.2)),
      row("mcpgw-stdio-auth", 8_800, 1.5, 7, 0, cpu(63.9)),
      row("mcpgw-stdio-limit", 8_900, 1.5, 7, 0, cpu(61.4)),
      row("mcpgw-stdio-audit", 7_000, 1.9, 9, 0, cpu(90)),
      row("mcpgw-stdio-defaults", 6_000, 2.5, 9, 2, cpu(101)),
    ]);
    expect(line(text, "authentication + RBAC adds ≤ 8 µs")).toMatch(/^\s+PASS\s.*\(\+7\.7 µs: 64 vs 56 µs\)$/);
    expect(line(text, "a rate limit that never refuses adds ≤ 5 µs")).toMatch(/^\s+FAIL\s.*\(\+5\.2 µs: 61 vs 56 µs\)$/);
    expect(line(text, "write-ahead audit (SQLite): added CPU")).toMatch(/^\s+info\s.*\(\+33\.8 µs: 90 vs 56 µs\)$/);
    // A row with errors fails even where it has no bound: its figure is not a gateway's that worked.
    expect(line(text, "the default install's features together")).toMatch(/^\s+FAIL\s.*\+44\.8 µs.*2 errors through the relay/);
  });

  it("judges tool-definition pinning by the relay-only row against the same with pinning off", () => {
    const within = report([row("mcpgw-stdio", 9_000, 1.5, 7, 0, cpu(56.2)), row("mcpgw-stdio-unpinned", 9_100, 1.5, 7, 0, cpu(54.0))]);
    expect(line(within, "tool-definition pinning")).toMatch(/^\s+PASS\s.*\(\+2\.2 µs: 56 vs 54 µs\)$/);
    const costly = report([row("mcpgw-stdio", 9_000, 1.5, 7, 0, cpu(60.5)), row("mcpgw-stdio-unpinned", 9_100, 1.5, 7, 0, cpu(54.0))]);
    expect(line(costly, "tool-definition pinning")).toMatch(/^\s+FAIL\s.*\(\+6\.5 µs: 61 vs 54 µs\)$/);
    expect(line(report([row("mcpgw-stdio", 9_000, 1.5, 7, 0, cpu(56))]), "tool-definition pinning")).toMatch(/^\s+n\/a\s.*mcpgw-stdio-unpinned/);
  });

  it("takes a row's CPU per call as the median of its rounds, not the throughput-median round's", () => {
    const round = (callsPerSecond: number, processUs: number) => row("mcpgw-stdio", callsPerSecond, 1.5, 7, 0, { processUs, mainThreadUs: processUs - 10 });
    const median = medianRow([round(9_000, 70), round(8_000, 52), round(10_000, 55)]);
    expect(median.result?.callsPerSecond).toBe(9_000);
    expect(median.result?.cpuPerCall).toEqual({ processUs: 55, mainThreadUs: 45 });
    expect(median.range).toEqual({ min: 8_000, max: 10_000, rounds: 3 });
    // An even count takes the higher of the middle two: the cautious one for a bound.
    expect(medianRow([round(9_000, 70), round(8_000, 52)]).result?.cpuPerCall?.processUs).toBe(70);
  });
});

describe("medianInterval (the sign test's interval for a median)", () => {
  const ranks = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

  it("takes the k-th lowest and highest values, k from the binomial tail (the textbook ranks)", () => {
    // Tables of the sign test's 95 % interval: n = 10 → ranks 2 and 9, 16 → 4 and 13, 20 → 6 and 15, 40 → 14 and 27.
    expect(medianInterval(ranks(10))).toMatchObject({ low: 2, high: 9 });
    expect(medianInterval(ranks(16))).toMatchObject({ low: 4, high: 13 });
    expect(medianInterval(ranks(20))).toMatchObject({ low: 6, high: 15 });
    expect(medianInterval(ranks(40))).toMatchObject({ low: 14, high: 27 });
    // Past 1,074 values 2^-n underflows; the interval still narrows as the normal approximation says (n/2 ∓ 1.96 √n / 2).
    const wide = medianInterval(ranks(2_000))!;
    expect(wide.low).toBeGreaterThanOrEqual(954);
    expect(wide.low).toBeLessThanOrEqual(957);
    expect(wide.high).toBe(2_001 - wide.low);
    // Its own coverage: 1 − 2 P(B(20, ½) ≤ 5) = 1 − 2 · 21,700 / 2^20.
    expect(medianInterval(ranks(20))!.confidence).toBeCloseTo(1 - (2 * 21_700) / 2 ** 20, 12);
  });

  it("sorts what it is given, and widens as the confidence asked for grows", () => {
    const shuffled = [1.07, 0.91, 0.88, 1.02, 0.95, 0.97, 0.9, 1.0, 0.93, 0.99];
    expect(medianInterval(shuffled)).toMatchObject({ low: 0.9, high: 1.02 });
    expect(medianInterval(shuffled, 0.5)).toMatchObject({ low: 0.93, high: 0.99 });
    expect(medianInterval(shuffled, 0.999)).toBeUndefined();
  });

  it("has no 95 % interval below six values (even all of them would hold the median less often than that)", () => {
    expect(medianInterval(ranks(5))).toBeUndefined();
    expect(medianInterval(ranks(6))).toMatchObject({ low: 1, high: 6, confidence: 1 - 2 / 64 });
    expect(medianInterval([])).toBeUndefined();
  });
});

describe("audit ingest and jobs drain targets", () => {
  const ingest = (target: IngestResult["target"], recordsPerSec: number, verified = true): IngestResult => ({
    target,
    recordsPerSec,
    callsPerSec: recordsPerSec / 2,
    avgBatch: 990,
    verified,
  });

  it("judges PostgreSQL's ingest on the median of its runs against 30k records/s", () => {
    const postgres = [31_000, 24_000, 33_000, 29_000, 30_500].map((n) => ingest("postgres", n));
    const [sqlite, pg] = ingestChecks([[ingest("sqlite", 80_000)], postgres]);
    expect(pg).toMatchObject({ status: "PASS", detail: "30,500 records/s over 5 runs (24,000–33,000)" });
    expect(sqlite).toMatchObject({ status: "PASS" });
    const [, below] = ingestChecks([postgres.map((r) => ({ ...r, recordsPerSec: r.recordsPerSec - 1_000 }))]);
    expect(below).toMatchObject({ status: "FAIL", detail: "29,500 records/s over 5 runs (23,000–32,000)" });
    expect(ingestChecks([])[1]).toMatchObject({ status: "n/a", detail: "no runs on postgres" });
  });

  it("fails an ingest whose chains did not verify, however fast", () => {
    const text = formatAuditIngest({ calls: 1_000, concurrency: 8, runs: [[ingest("postgres", 90_000), ingest("postgres", 91_000, false)]], skipped: [] });
    expect(line(text, "postgres audit ingest")).toMatch(/^\s+FAIL\s.*a chain did not verify\)$/);
    expect(line(text, "| postgres |")).toBe("| postgres | 2 | 90,000 | 90,000–91,000 | 45,000 | 990 | NO |");
  });

  it("judges PostgreSQL's jobs drain with 4 workers against half of SQLite's in the same run", () => {
    const jobsRow = (store: JobsBenchRow["store"], workers: number, drainPerSec: number): JobsBenchRow => ({
      store,
      workers,
      drainPerSec,
      startP50Ms: 1,
      startP99Ms: 5,
      submitPerSec: 1_000,
      drainSeconds: 1_000 / drainPerSec,
    });
    const rows = [jobsRow("sqlite", 4, 600), jobsRow("sqlite", 16, 2_000), jobsRow("postgres", 4, 310), jobsRow("postgres", 16, 100)];
    expect(jobsDrainCheck(rows, 1_000)).toMatchObject({ status: "PASS", detail: "52%: 310 vs 600 jobs/s" });
    expect(jobsDrainCheck([rows[0]!, jobsRow("postgres", 4, 71)], 1_000)).toMatchObject({ status: "FAIL", detail: "12%: 71 vs 600 jobs/s" });
    expect(jobsDrainCheck([rows[0]!], 1_000)).toMatchObject({ status: "n/a", detail: "no numbers for PostgreSQL" });
  });
});
