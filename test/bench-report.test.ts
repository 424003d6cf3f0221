import { describe, expect, it } from "vitest";
import type { LoadResult } from "../bench/load.ts";
import { type Row, type RowKey, formatReport } from "../bench/report.ts";

const machine = { date: "2026-11-26T17:00:00Z", nproc: 2, cpuModel: "test CPU", bunVersion: "1.4.5", os: "linux", loadAverage: 0 };

function row(key: RowKey, callsPerSecond: number, p50Ms: number, p99Ms: number, errors = 0, cpuPerCall?: LoadResult["cpuPerCall"]): Row {
  const result: LoadResult = { calls: callsPerSecond * 8, callsPerSecond, p50Ms, p99Ms, errors, ...(cpuPerCall && { cpuPerCall }) };
  return { key, label: key, result };
}

function report(rows: Row[]): string {
  return formatReport({ machine, context: [], rows, notes: [], commands: {} });
}

function line(text: string, containing: string): string {
  return text.split("\n").find((l) => l.includes(containing)) ?? "";
}

describe("bench report", () => {
  it("judges mcpgw's rows against the targets and the reference relay's rows as the machine's ceiling", () => {
    const text = report([
      row("direct", 20_000, 0.8, 3),
      row("mcpgw-http", 8_000, 2.0, 8),
      row("mcpgw-stdio", 9_000, 1.5, 7, 0, { processUs: 101.4, mainThreadUs: 84.6 }),
      row("mcp-proxy", 1_000, 8, 30),
      row("reference-http", 16_000, 1.0, 4),
      row("reference-stdio", 9_500, 1.3, 6),
    ]);
    expect(line(text, "mcpgw → stdio echo ≥ 10×")).toMatch(/^\s+FAIL\s.*9\.0× throughput/);
    expect(line(text, "mcpgw → HTTP echo ≥ 45%")).toMatch(/^\s+FAIL\s.*40% of direct, added p50 \+1\.20 ms/);
    expect(text).toContain("Machine ceiling");
    // The target process's CPU per call, all threads (main thread), where it was measured.
    expect(line(text, "| mcpgw-stdio |")).toMatch(/\| 101 \(85\) \|$/);
    expect(line(text, "| mcpgw-http |")).toMatch(/\| n\/a \|$/);
    // 9.5× is short of 10×: out of reach for any relay here. 80% of direct with +0.2 ms: reachable.
    expect(line(text, "reference relay → stdio echo ≥ 10×")).toMatch(/^\s+out of reach\s.*9\.5× throughput/);
    expect(line(text, "reference relay → HTTP echo ≥ 45%")).toMatch(/^\s+reachable\s.*80% of direct, added p50 \+0\.20 ms/);
  });

  it("compares the modern client's CPU per call with the legacy client's, per backend", () => {
    const cpu = (processUs: number) => ({ processUs, mainThreadUs: processUs * 0.8 });
    const text = report([
      row("mcpgw-stdio", 9_000, 1.5, 7, 0, cpu(101.4)),
      row("mcpgw-modern-stdio", 9_500, 1.4, 6, 0, cpu(96.2)),
      row("mcpgw-http", 8_000, 2.0, 8, 0, cpu(80)),
      row("mcpgw-modern-http", 7_500, 2.1, 9, 0, cpu(92)),
    ]);
    expect(line(text, "mcpgw → stdio echo: modern client CPU per call ≤ legacy client's")).toMatch(/^\s+PASS\s.*\(0\.95× the legacy client's: 96 vs 101 µs\)$/);
    expect(line(text, "mcpgw → HTTP echo: modern client CPU per call ≤ legacy client's")).toMatch(/^\s+FAIL\s.*\(1\.15× the legacy client's: 92 vs 80 µs\)$/);
    expect(line(text, "| mcpgw-modern-stdio |")).toMatch(/\| 96 \(77\) \|$/);
  });

  it("says why the modern comparison has no verdict, and fails a modern row with errors", () => {
    const withoutCpu = report([row("mcpgw-stdio", 9_000, 1.5, 7), row("mcpgw-modern-stdio", 9_500, 1.4, 6)]);
    expect(line(withoutCpu, "stdio echo: modern client CPU")).toMatch(/^\s+n\/a\s.*\(CPU per call not measured \(Linux only\)\)$/);
    expect(line(withoutCpu, "HTTP echo: modern client CPU")).toMatch(/^\s+n\/a\s.*no numbers for mcpgw \(legacy client\) → HTTP echo and mcpgw \(modern client\) → HTTP echo/);
    const cpu = { processUs: 50, mainThreadUs: 40 };
    const withErrors = report([row("mcpgw-http", 8_000, 2.0, 8, 0, { processUs: 80, mainThreadUs: 60 }), row("mcpgw-modern-http", 8_000, 2.0, 8, 3, cpu)]);
    expect(line(withErrors, "HTTP echo: modern client CPU")).toMatch(/^\s+FAIL\s.*0\.63× the legacy client's: 50 vs 80 µs, 3 errors through the relay/);
  });

  it("fails a fast relay row that had errors, and leaves the ceiling out when no reference row ran", () => {
    const text = report([row("direct", 20_000, 0.8, 3), row("mcpgw-http", 19_000, 0.9, 3, 5)]);
    expect(line(text, "mcpgw → HTTP echo ≥ 45%")).toMatch(/^\s+FAIL\s.*5 errors through the relay/);
    expect(text).not.toContain("Machine ceiling");
  });
});
