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

  it("fails a fast relay row that had errors, and leaves the ceiling out when no reference row ran", () => {
    const text = report([row("direct", 20_000, 0.8, 3), row("mcpgw-http", 19_000, 0.9, 3, 5)]);
    expect(line(text, "mcpgw → HTTP echo ≥ 45%")).toMatch(/^\s+FAIL\s.*5 errors through the relay/);
    expect(text).not.toContain("Machine ceiling");
  });
});
