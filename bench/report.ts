/**
 * The printed result: machine and settings, one Markdown table (pasteable into the README) with
 * each row's throughput as a share of direct and its added p50 over direct, the reasons for
 * rows that could not run, and the product's performance targets checked as PASS/FAIL/n/a.
 */
import type { LoadResult } from "./load.ts";
import type { MachineInfo } from "./machine-info.ts";

export type RowKey =
  | "direct"
  | "mcpgw-http"
  | "mcpgw-stdio"
  | "mcpgw-stdio-auth"
  | "mcpgw-stdio-limit"
  | "mcpgw-stdio-audit"
  | "mcpgw-stdio-defaults"
  | "supergateway"
  | "mcp-proxy";

/** One measured target: a result, or why it has none. */
export interface Row {
  key: RowKey;
  label: string;
  result?: LoadResult;
  unavailable?: string;
  /** Over several rounds: the slowest and fastest round's calls/s (result is the median round). */
  range?: { min: number; max: number; rounds: number };
}

/**
 * One row from the same target's rounds: the median round by throughput (for an even count, the
 * slower of the middle two), with the range of the rounds and the errors of all of them. Rounds
 * without numbers are left out; with none at all, the row says why.
 */
export function medianRow(rounds: Row[]): Row {
  const first = rounds[0]!;
  const results = rounds.flatMap((row) => (row.result === undefined ? [] : [row.result])).sort((a, b) => a.callsPerSecond - b.callsPerSecond);
  if (results.length === 0) return first;
  const median = results[Math.floor((results.length - 1) / 2)]!;
  const errors = results.reduce((sum, r) => sum + r.errors, 0);
  const firstError = results.find((r) => r.firstError !== undefined)?.firstError;
  return {
    key: first.key,
    label: first.label,
    result: { ...median, errors, ...(firstError !== undefined && { firstError }) },
    ...(rounds.length > 1 && { range: { min: results[0]!.callsPerSecond, max: results.at(-1)!.callsPerSecond, rounds: results.length } }),
  };
}

export interface ReportInput {
  machine: MachineInfo;
  /** Lines describing what was run (versions, load shape, command lines). */
  context: string[];
  rows: Row[];
  notes: string[];
  /** How each process was started, by name. */
  commands: Record<string, string>;
}

type CheckStatus = "PASS" | "FAIL" | "n/a";

interface Check {
  label: string;
  status: CheckStatus;
  detail: string;
}

/** The whole report as text. */
export function formatReport(input: ReportInput): string {
  const { machine, rows } = input;
  const direct = measured(rows, "direct");
  const lines = [
    `mcpgw bench · ${machine.date} · nproc ${machine.nproc} · ${machine.cpuModel} · Bun ${machine.bunVersion} · ${machine.os} · load average ${machine.loadAverage.toFixed(2)} at start`,
    ...input.context,
    "",
    "| target | calls/s | range over rounds | p50 ms | p99 ms | errors | % of direct | added p50 ms |",
    "|---|--:|--:|--:|--:|--:|--:|--:|",
    ...rows.map((row) => tableRow(row, direct)),
    "",
  ];
  const unavailable = rows.filter((row) => row.result === undefined);
  for (const row of unavailable) lines.push(`n/a  ${row.label}: ${row.unavailable ?? "not run"}`);
  for (const row of rows) {
    if (row.result !== undefined && row.result.errors > 0) lines.push(`errors  ${row.label}: ${row.result.errors}, first: ${row.result.firstError}`);
  }
  if (machine.loadAverage > machine.nproc / 2) lines.push(`note  the machine was busy when the run started (load average ${machine.loadAverage.toFixed(2)} on ${machine.nproc} CPUs): expect noisy numbers`);
  for (const note of input.notes) lines.push(`note  ${note}`);
  if (lines.at(-1) !== "") lines.push("");
  lines.push("Targets:");
  for (const check of checks(rows)) lines.push(`  ${check.status.padEnd(4)}  ${check.label}  (${check.detail})`);
  const commands = Object.entries(input.commands);
  if (commands.length > 0) lines.push("", "Started as:", ...commands.map(([name, command]) => `  ${name}: ${command}`));
  return lines.join("\n");
}

function tableRow(row: Row, direct: LoadResult | undefined): string {
  const r = row.result;
  if (r === undefined) return `| ${row.label} | n/a | n/a | n/a | n/a | n/a | n/a | n/a |`;
  const share = direct === undefined ? "n/a" : `${percent(r.callsPerSecond / direct.callsPerSecond)}`;
  const added = direct === undefined ? "n/a" : row.key === "direct" ? "—" : signed(r.p50Ms - direct.p50Ms);
  const range = row.range === undefined ? "—" : `${thousands(row.range.min)}–${thousands(row.range.max)}`;
  return `| ${row.label} | ${thousands(r.callsPerSecond)} | ${range} | ${ms(r.p50Ms)} | ${ms(r.p99Ms)} | ${r.errors} | ${share} | ${added} |`;
}

/** The product's performance targets (see DESIGN.md / README), evaluated on this run. */
function checks(rows: Row[]): Check[] {
  const direct = measured(rows, "direct");
  const mcpgwHttp = measured(rows, "mcpgw-http");
  const mcpgwStdio = measured(rows, "mcpgw-stdio");
  const mcpProxy = measured(rows, "mcp-proxy");

  const stdioLabel = "mcpgw → stdio echo ≥ 10× mcp-proxy throughput and lower p99";
  const stdio: Check =
    mcpgwStdio === undefined || mcpProxy === undefined
      ? { label: stdioLabel, status: "n/a", detail: missing({ "mcpgw → stdio echo": mcpgwStdio, "mcp-proxy → stdio echo": mcpProxy }) }
      : verdict(stdioLabel, mcpgwStdio, mcpgwStdio.callsPerSecond >= 10 * mcpProxy.callsPerSecond && mcpgwStdio.p99Ms < mcpProxy.p99Ms, [
          `${(mcpgwStdio.callsPerSecond / mcpProxy.callsPerSecond).toFixed(1)}× throughput`,
          `p99 ${ms(mcpgwStdio.p99Ms)} vs ${ms(mcpProxy.p99Ms)} ms`,
        ]);

  const httpLabel = "mcpgw → HTTP echo ≥ 45% of direct throughput, added p50 ≤ 0.3 ms";
  const http: Check =
    mcpgwHttp === undefined || direct === undefined
      ? { label: httpLabel, status: "n/a", detail: missing({ "direct → HTTP echo": direct, "mcpgw → HTTP echo": mcpgwHttp }) }
      : verdict(httpLabel, mcpgwHttp, mcpgwHttp.callsPerSecond >= 0.45 * direct.callsPerSecond && mcpgwHttp.p50Ms - direct.p50Ms <= 0.3, [
          `${percent(mcpgwHttp.callsPerSecond / direct.callsPerSecond)} of direct`,
          `added p50 ${signed(mcpgwHttp.p50Ms - direct.p50Ms)} ms`,
        ]);

  return [stdio, http, ...featureChecks(rows, mcpgwStdio)];
}

/** What each feature costs against the relay alone, measured in the same run (issues 4, 5 and 6). */
function featureChecks(rows: Row[], relay: LoadResult | undefined): Check[] {
  const features: [RowKey, string, number][] = [
    ["mcpgw-stdio-auth", "authentication + RBAC on keeps ≥ 90% of the relay's throughput", 0.9],
    ["mcpgw-stdio-limit", "a rate limit that never refuses keeps ≥ 90% of the relay's throughput", 0.9],
    ["mcpgw-stdio-audit", "write-ahead audit (SQLite) keeps ≥ 80% of the relay's throughput", 0.8],
  ];
  return features.map(([key, label, share]) => {
    const row = measured(rows, key);
    if (row === undefined || relay === undefined) return { label, status: "n/a" as const, detail: missing({ "mcpgw → stdio echo (relay only)": relay, [key]: row }) };
    return verdict(label, row, row.callsPerSecond >= share * relay.callsPerSecond, [`${percent(row.callsPerSecond / relay.callsPerSecond)} of the relay alone`]);
  });
}

// A gateway row with errors fails its target whatever its speed: fast wrong answers don't count.
function verdict(label: string, gateway: LoadResult, met: boolean, facts: string[]): Check {
  const detail = [...facts, ...(gateway.errors > 0 ? [`${gateway.errors} errors through mcpgw`] : [])].join(", ");
  return { label, status: met && gateway.errors === 0 ? "PASS" : "FAIL", detail };
}

function missing(needed: Record<string, LoadResult | undefined>): string {
  const absent = Object.entries(needed).filter(([, result]) => result === undefined).map(([label]) => label);
  return `no numbers for ${absent.join(" and ")}`;
}

function measured(rows: Row[], key: RowKey): LoadResult | undefined {
  const result = rows.find((row) => row.key === key)?.result;
  return result !== undefined && result.calls > 0 ? result : undefined;
}

function thousands(callsPerSecond: number): string {
  return Math.round(callsPerSecond).toLocaleString("en-US");
}

function ms(value: number): string {
  return Number.isFinite(value) ? value.toFixed(2) : "n/a";
}

function signed(value: number): string {
  return `${value >= 0 ? "+" : "−"}${Math.abs(value).toFixed(2)}`;
}

function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(ratio < 0.1 ? 1 : 0)}%`;
}
