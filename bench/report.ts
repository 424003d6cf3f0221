/**
 * The printed result: machine and settings, one Markdown table (pasteable into the README) with
 * each row's throughput as a share of direct, its added p50 over direct, the CPU its target
 * process spent per call and that CPU as a multiple of the reference relay's over the same
 * transport in the same run, the reasons for rows that could not run, and the product's
 * performance targets (issue 17: CPU per call against the reference relay, each feature's added
 * µs per call, the PostgreSQL audit ingest and jobs drain) checked as PASS/FAIL/n/a. The first
 * round's throughput targets follow as information only.
 */
import type { LoadResult } from "./load.ts";
import type { MachineInfo } from "./machine-info.ts";

export type RowKey =
  | "direct"
  | "mcpgw-http"
  | "mcpgw-stdio"
  | "mcpgw-modern-http"
  | "mcpgw-modern-stdio"
  | "mcpgw-stdio-auth"
  | "mcpgw-stdio-limit"
  | "mcpgw-stdio-audit"
  | "mcpgw-stdio-defaults"
  | "mcpgw-stdio-unpinned"
  | "supergateway"
  | "mcp-proxy"
  | "reference-http"
  | "reference-stdio"
  | "reference-checks-http"
  | "reference-checks-stdio";

/** One measured target: a result, or why it has none. */
export interface Row {
  key: RowKey;
  label: string;
  result?: LoadResult;
  unavailable?: string;
  /** Over several rounds: the slowest and fastest round's calls/s (result is the median round). */
  range?: { min: number; max: number; rounds: number };
}

/** The median of windows or rounds: for an even count, the higher of the middle two (as `medianRow` takes the CPU). */
export function median(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
}

/** Where the median of what was sampled lies, at `confidence` or more: the values at two ranks of the sorted sample. */
export interface MedianInterval {
  low: number;
  high: number;
  /** The interval's own coverage (at least the confidence asked for: ranks make it step). */
  confidence: number;
}

/**
 * A distribution-free confidence interval for the median (the sign test's): sorted, the k-th lowest and the
 * k-th highest value, with the largest k for which the chance that fewer than k values fall below the median,
 * P(Binomial(n, ½) < k), is at most (1 − confidence) / 2. It assumes nothing of the spread, which on a shared
 * machine is neither normal nor steady, only that the samples are independent (as alternated windows nearly are).
 * Undefined when there are too few values for any such k (fewer than 6 for 95 %).
 */
export function medianInterval(values: readonly number[], confidence = 0.95): MedianInterval | undefined {
  const n = values.length;
  const tail = (1 - confidence) / 2;
  // P(B <= i) accumulated term by term, C(n, i) / 2^n, each term from its logarithm (2^-n alone underflows past n = 1074).
  let logTerm = -n * Math.LN2;
  let below = 0;
  let k = 0;
  for (let i = 0; i < n / 2; i++) {
    const term = Math.exp(logTerm);
    if (below + term > tail) break;
    below += term;
    k = i + 1;
    logTerm += Math.log(n - i) - Math.log(i + 1);
  }
  if (k === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return { low: sorted[k - 1]!, high: sorted[n - k]!, confidence: 1 - 2 * below };
}

/**
 * One row from the same target's rounds: the median round by throughput (for an even count, the
 * slower of the middle two), with the range of the rounds and the errors of all of them. The CPU
 * per call is the median of the rounds' own (for an even count, the higher of the middle two),
 * not the throughput-median round's: it is the column the targets judge, and a round that was
 * slow for the machine's sake is not always the one whose CPU per call is in the middle. Rounds
 * without numbers are left out; with none at all, the row says why.
 */
export function medianRow(rounds: Row[]): Row {
  const first = rounds[0]!;
  const results = rounds.flatMap((row) => (row.result === undefined ? [] : [row.result])).sort((a, b) => a.callsPerSecond - b.callsPerSecond);
  if (results.length === 0) return first;
  const middle = results[Math.floor((results.length - 1) / 2)]!;
  const errors = results.reduce((sum, r) => sum + r.errors, 0);
  const firstError = results.find((r) => r.firstError !== undefined)?.firstError;
  const cpus = results.flatMap((r) => (r.cpuPerCall === undefined ? [] : [r.cpuPerCall])).sort((a, b) => a.processUs - b.processUs);
  const cpuPerCall = cpus[Math.ceil((cpus.length - 1) / 2)];
  const { cpuPerCall: _, ...rest } = middle;
  return {
    key: first.key,
    label: first.label,
    result: { ...rest, errors, ...(firstError !== undefined && { firstError }), ...(cpuPerCall !== undefined && { cpuPerCall }) },
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

/** PASS/FAIL judge a target; "info" reports a figure that has none; the others belong to the information sections. */
export type CheckStatus = "PASS" | "FAIL" | "n/a" | "info" | "met" | "not met" | "reachable" | "out of reach";

export interface Check {
  label: string;
  status: CheckStatus;
  detail: string;
}

/** One check as the report prints it, its status in a column of `width`. */
export function checkLine(check: Check, width = 4): string {
  return `  ${check.status.padEnd(width)}  ${check.label}  (${check.detail})`;
}

/** Issue 17's bound on a relay-only row and on the default install: its CPU per call over the reference relay's. */
const CPU_MULTIPLE_TARGETS: [RowKey, string, number][] = [
  ["mcpgw-stdio", "mcpgw → stdio echo, relay only", 1.25],
  ["mcpgw-http", "mcpgw → HTTP echo, relay only", 1.25],
  ["mcpgw-stdio-defaults", "mcpgw → stdio echo, default install (auth, RBAC, write-ahead audit on SQLite)", 2],
];

/** What each feature row adds to the relay-only stdio row's CPU per call; a bound where issue 17 sets one. */
const FEATURE_TARGETS: [RowKey, string, number | undefined][] = [
  ["mcpgw-stdio-auth", "authentication + RBAC", 8],
  ["mcpgw-stdio-limit", "a rate limit that never refuses", 5],
  ["mcpgw-stdio-audit", "write-ahead audit (SQLite)", undefined],
  ["mcpgw-stdio-defaults", "the default install's features together", undefined],
];

/** The reference relay row a row's CPU per call is measured against: the same transport to the backend. */
function referenceOf(key: RowKey): RowKey | undefined {
  if (key === "direct") return undefined;
  return key.endsWith("-http") ? "reference-http" : "reference-stdio";
}

/** The checked reference relay's rows: what a relay with a gateway's unavoidable per-call checks costs (bench/checked-relay.ts). */
const CHECKED_REFERENCE_ROWS: [RowKey, string][] = [
  ["reference-checks-stdio", "stdio echo"],
  ["reference-checks-http", "HTTP echo"],
];

/** The whole report as text. */
export function formatReport(input: ReportInput): string {
  const { machine, rows } = input;
  const direct = measured(rows, "direct");
  const lines = [
    `mcpgw bench · ${machine.date} · nproc ${machine.nproc} · ${machine.cpuModel} · Bun ${machine.bunVersion} · ${machine.os} · load average ${machine.loadAverage.toFixed(2)} at start`,
    ...input.context,
    "",
    "| target | calls/s | range over rounds | p50 ms | p99 ms | errors | % of direct | added p50 ms | CPU µs/call (main thread) | × reference relay CPU |",
    "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ...rows.map((row) => tableRow(row, direct, rows)),
    "",
  ];
  const unavailable = rows.filter((row) => row.result === undefined);
  for (const row of unavailable) lines.push(`n/a  ${row.label}: ${row.unavailable ?? "not run"}`);
  for (const row of rows) {
    if (row.result !== undefined && row.result.errors > 0) lines.push(`errors  ${row.label}: ${row.result.errors}, first: ${row.result.firstError}`);
  }
  if (machine.loadAverage > machine.nproc / 2)
    lines.push(
      `note  the machine was busy when the run started (load average ${machine.loadAverage.toFixed(2)} on ${machine.nproc} CPUs): expect noisy numbers`,
    );
  for (const note of input.notes) lines.push(`note  ${note}`);
  if (lines.at(-1) !== "") lines.push("");
  lines.push("Targets (issue 17: CPU per call against the reference relay over the same transport, in this run):");
  for (const check of checks(rows)) lines.push(checkLine(check));
  lines.push("", "Throughput targets of the first round (retired by issue 17; information only, for mcpgw and for the reference relay):");
  for (const check of retiredChecks(rows)) lines.push(checkLine(check, 12));
  const commands = Object.entries(input.commands);
  if (commands.length > 0) lines.push("", "Started as:", ...commands.map(([name, command]) => `  ${name}: ${command}`));
  return lines.join("\n");
}

function tableRow(row: Row, direct: LoadResult | undefined, rows: Row[]): string {
  const r = row.result;
  if (r === undefined) return `| ${row.label} | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a |`;
  const share = direct === undefined ? "n/a" : `${percent(r.callsPerSecond / direct.callsPerSecond)}`;
  const added = direct === undefined ? "n/a" : row.key === "direct" ? "—" : signed(r.p50Ms - direct.p50Ms);
  const range = row.range === undefined ? "—" : `${thousands(row.range.min)}–${thousands(row.range.max)}`;
  const cpu = r.cpuPerCall === undefined ? "n/a" : `${Math.round(r.cpuPerCall.processUs)} (${Math.round(r.cpuPerCall.mainThreadUs)})`;
  const referenceKey = referenceOf(row.key);
  const multiple = referenceKey === undefined ? undefined : cpuMultiple(r, measured(rows, referenceKey));
  const times = referenceKey === undefined ? "—" : multiple === undefined ? "n/a" : `${multiple.toFixed(2)}×`;
  const cells = [row.label, thousands(r.callsPerSecond), range, ms(r.p50Ms), ms(r.p99Ms), r.errors, share, added, cpu, times];
  return `| ${cells.join(" | ")} |`;
}

function cpuMultiple(row: LoadResult, reference: LoadResult | undefined): number | undefined {
  if (row.cpuPerCall === undefined || reference?.cpuPerCall === undefined) return undefined;
  return row.cpuPerCall.processUs / reference.cpuPerCall.processUs;
}

/** Issue 17's relay targets, evaluated on this run. */
function checks(rows: Row[]): Check[] {
  return [
    ...CPU_MULTIPLE_TARGETS.map(([key, label, bound]) => cpuMultipleCheck(rows, key, label, bound)),
    ...FEATURE_TARGETS.map(([key, label, bound]) => featureCheck(rows, key, label, bound)),
    pinningCheck(rows),
    modernCpuCheck(rows, "mcpgw-modern-stdio", "mcpgw-stdio", "stdio echo"),
    modernCpuCheck(rows, "mcpgw-modern-http", "mcpgw-http", "HTTP echo"),
    ...CHECKED_REFERENCE_ROWS.map(([key, backend]) => checkedReferenceInfo(rows, key, backend)),
  ];
}

/** What the checks alone cost over the reference relay: the floor, on this run, of a gateway that keeps them. */
function checkedReferenceInfo(rows: Row[], key: RowKey, backend: string): Check {
  const label = `the reference relay with a gateway's unavoidable checks → ${backend} (bench/checked-relay.ts)`;
  const row = measured(rows, key);
  const reference = row === undefined ? undefined : measured(rows, referenceOf(key)!);
  const multiple = row === undefined ? undefined : cpuMultiple(row, reference);
  if (row === undefined || reference === undefined || multiple === undefined) return { label, status: "n/a", detail: "not measured in this run" };
  const added = row.cpuPerCall!.processUs - reference.cpuPerCall!.processUs;
  return { label, status: "info", detail: `${multiple.toFixed(2)}× the reference relay's CPU per call, ${signed(added, 1)} µs` };
}

function cpuMultipleCheck(rows: Row[], key: RowKey, rowLabel: string, bound: number): Check {
  const referenceKey = referenceOf(key)!;
  const row = measured(rows, key);
  const reference = measured(rows, referenceKey);
  const label = `${rowLabel}: CPU per call ≤ ${bound}× the reference relay's`;
  if (row === undefined || reference === undefined) return { label, status: "n/a", detail: missing({ [rowLabel]: row, [referenceKey]: reference }) };
  const multiple = cpuMultiple(row, reference);
  if (multiple === undefined) return { label, status: "n/a", detail: "CPU per call not measured (Linux only)" };
  const [us, referenceUs] = [row.cpuPerCall!.processUs, reference.cpuPerCall!.processUs];
  return verdict(label, row, multiple <= bound, [`${multiple.toFixed(2)}×: ${Math.round(us)} vs ${Math.round(referenceUs)} µs`]);
}

/** A feature's own cost: its row's CPU per call minus the relay-only stdio row's, same run. */
function featureCheck(rows: Row[], key: RowKey, feature: string, boundUs: number | undefined): Check {
  const row = measured(rows, key);
  const relay = measured(rows, "mcpgw-stdio");
  const label =
    boundUs === undefined
      ? `${feature}: added CPU per call over the relay alone (no target)`
      : `${feature} adds ≤ ${boundUs} µs CPU per call over the relay alone`;
  if (row === undefined || relay === undefined) return { label, status: "n/a", detail: missing({ "mcpgw → stdio echo (relay only)": relay, [key]: row }) };
  if (row.cpuPerCall === undefined || relay.cpuPerCall === undefined) return { label, status: "n/a", detail: "CPU per call not measured (Linux only)" };
  const addedUs = row.cpuPerCall.processUs - relay.cpuPerCall.processUs;
  const facts = [`${signed(addedUs, 1)} µs: ${Math.round(row.cpuPerCall.processUs)} vs ${Math.round(relay.cpuPerCall.processUs)} µs`];
  if (boundUs !== undefined) return verdict(label, row, addedUs <= boundUs, facts);
  const judged = verdict(label, row, true, facts);
  return { ...judged, status: judged.status === "PASS" ? "info" : judged.status };
}

/** Below this, a difference of CPU per call between two rows of one run is within what rounds move on a shared 2-vCPU machine. */
const PINNING_NOISE_US = 3;

/**
 * Tool-definition pinning costs no measurable CPU per call (issue 19): the relay-only stdio row, whose backend is
 * pinned as every new backend is (trust on first use, drift blocked), against the same with `--drift-mode off`.
 */
function pinningCheck(rows: Row[]): Check {
  const pinned = measured(rows, "mcpgw-stdio");
  const unpinned = measured(rows, "mcpgw-stdio-unpinned");
  const label = `tool-definition pinning (the default: first use, drift blocked) adds ≤ ${PINNING_NOISE_US} µs CPU per call (relay only, against --drift-mode off)`;
  if (pinned === undefined || unpinned === undefined) {
    return { label, status: "n/a", detail: missing({ "mcpgw → stdio echo (relay only)": pinned, "mcpgw-stdio-unpinned": unpinned }) };
  }
  if (pinned.cpuPerCall === undefined || unpinned.cpuPerCall === undefined) return { label, status: "n/a", detail: "CPU per call not measured (Linux only)" };
  const addedUs = pinned.cpuPerCall.processUs - unpinned.cpuPerCall.processUs;
  const facts = [`${signed(addedUs, 1)} µs: ${Math.round(pinned.cpuPerCall.processUs)} vs ${Math.round(unpinned.cpuPerCall.processUs)} µs`];
  return verdict(label, pinned, addedUs <= PINNING_NOISE_US, facts);
}

/**
 * A 2026-07-28 client costs the gateway no more per call than a 2025 session does (issue 14): the
 * modern row against the legacy row to the same backend, both relay only, on CPU per call (all
 * the gateway's threads), which a busy machine moves much less than throughput.
 */
function modernCpuCheck(rows: Row[], modernKey: RowKey, legacyKey: RowKey, backend: string): Check {
  const modern = measured(rows, modernKey);
  const legacy = measured(rows, legacyKey);
  const label = `mcpgw → ${backend}: modern client CPU per call ≤ legacy client's`;
  if (modern === undefined || legacy === undefined)
    return { label, status: "n/a", detail: missing({ [`mcpgw (legacy client) → ${backend}`]: legacy, [`mcpgw (modern client) → ${backend}`]: modern }) };
  if (modern.cpuPerCall === undefined || legacy.cpuPerCall === undefined) return { label, status: "n/a", detail: "CPU per call not measured (Linux only)" };
  const [m, l] = [modern.cpuPerCall.processUs, legacy.cpuPerCall.processUs];
  return verdict(label, modern, m <= l, [`${(m / l).toFixed(2)}× the legacy client's: ${Math.round(m)} vs ${Math.round(l)} µs`]);
}

/**
 * The first round's throughput targets (issues 1, 4, 5, 6), retired by issue 17 because they
 * measured the 2-core machine as much as the gateway: printed as information, for mcpgw and for
 * the reference relay (which does no gateway work: where it does not meet one, no relay on Bun
 * does on this machine).
 */
function retiredChecks(rows: Row[]): Check[] {
  const mcpgwStdio = measured(rows, "mcpgw-stdio");
  const renamed =
    (met: CheckStatus, notMet: CheckStatus) =>
    (check: Check): Check => ({
      ...check,
      status: check.status === "PASS" ? met : check.status === "FAIL" ? notMet : check.status,
    });
  const mcpgw = [
    stdioTarget(rows, "mcpgw-stdio", "mcpgw → stdio echo"),
    httpTarget(rows, "mcpgw-http", "mcpgw → HTTP echo"),
    ...featureThroughputChecks(rows, mcpgwStdio),
  ];
  const reference = rows.some((row) => row.key.startsWith("reference-"))
    ? [stdioTarget(rows, "reference-stdio", "reference relay → stdio echo"), httpTarget(rows, "reference-http", "reference relay → HTTP echo")]
    : [];
  return [...mcpgw.map(renamed("met", "not met")), ...reference.map(renamed("reachable", "out of reach"))];
}

function stdioTarget(rows: Row[], key: RowKey, relayLabel: string): Check {
  const relay = measured(rows, key);
  const mcpProxy = measured(rows, "mcp-proxy");
  const label = `${relayLabel} ≥ 10× mcp-proxy throughput and lower p99`;
  if (relay === undefined || mcpProxy === undefined)
    return { label, status: "n/a", detail: missing({ [relayLabel]: relay, "mcp-proxy → stdio echo": mcpProxy }) };
  return verdict(label, relay, relay.callsPerSecond >= 10 * mcpProxy.callsPerSecond && relay.p99Ms < mcpProxy.p99Ms, [
    `${(relay.callsPerSecond / mcpProxy.callsPerSecond).toFixed(1)}× throughput`,
    `p99 ${ms(relay.p99Ms)} vs ${ms(mcpProxy.p99Ms)} ms`,
  ]);
}

function httpTarget(rows: Row[], key: RowKey, relayLabel: string): Check {
  const relay = measured(rows, key);
  const direct = measured(rows, "direct");
  const label = `${relayLabel} ≥ 45% of direct throughput, added p50 ≤ 0.3 ms`;
  if (relay === undefined || direct === undefined) return { label, status: "n/a", detail: missing({ "direct → HTTP echo": direct, [relayLabel]: relay }) };
  return verdict(label, relay, relay.callsPerSecond >= 0.45 * direct.callsPerSecond && relay.p50Ms - direct.p50Ms <= 0.3, [
    `${percent(relay.callsPerSecond / direct.callsPerSecond)} of direct`,
    `added p50 ${signed(relay.p50Ms - direct.p50Ms)} ms`,
  ]);
}

/** What each feature cost in throughput against the relay alone (issues 4, 5 and 6). */
function featureThroughputChecks(rows: Row[], relay: LoadResult | undefined): Check[] {
  const features: [RowKey, string, number][] = [
    ["mcpgw-stdio-auth", "authentication + RBAC on keeps ≥ 90% of the relay's throughput", 0.9],
    ["mcpgw-stdio-limit", "a rate limit that never refuses keeps ≥ 90% of the relay's throughput", 0.9],
    ["mcpgw-stdio-audit", "write-ahead audit (SQLite) keeps ≥ 80% of the relay's throughput", 0.8],
  ];
  return features.map(([key, label, share]) => {
    const row = measured(rows, key);
    if (row === undefined || relay === undefined)
      return { label, status: "n/a" as const, detail: missing({ "mcpgw → stdio echo (relay only)": relay, [key]: row }) };
    return verdict(label, row, row.callsPerSecond >= share * relay.callsPerSecond, [
      `${percent(row.callsPerSecond / relay.callsPerSecond)} of the relay alone`,
    ]);
  });
}

// A relay row with errors fails its target whatever its speed: fast wrong answers don't count.
function verdict(label: string, relay: LoadResult, met: boolean, facts: string[]): Check {
  const detail = [...facts, ...(relay.errors > 0 ? [`${relay.errors} errors through the relay`] : [])].join(", ");
  return { label, status: met && relay.errors === 0 ? "PASS" : "FAIL", detail };
}

function missing(needed: Record<string, LoadResult | undefined>): string {
  const absent = Object.entries(needed)
    .filter(([, result]) => result === undefined)
    .map(([label]) => label);
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

function signed(value: number, digits = 2): string {
  return `${value >= 0 ? "+" : "−"}${Math.abs(value).toFixed(digits)}`;
}

function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(ratio < 0.1 ? 1 : 0)}%`;
}
