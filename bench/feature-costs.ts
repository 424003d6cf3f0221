/**
 * The feature costs of issue 17 measured in one process (`bun bench/feature-cpu-in-process.ts`, run here for
 * each feature in a process of its own): the feature rows of the relay table read a feature's cost as the
 * difference of two rows measured minutes apart, which moves by more than the bounds from run to run; these
 * alternate the two gateways in 100 ms windows. Both are printed: the rows' differences stay in the relay
 * table's targets, these are judged on their own lines.
 *
 *   bun bench/feature-costs.ts [--pairs 60]
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { runToCompletion } from "./child-processes.ts";
import type { FeatureCost } from "./feature-cpu-in-process.ts";
import { type Check, checkLine } from "./report.ts";

/** Each feature measured, and issue 17's bound on what it adds (none for audit). */
const FEATURES: [feature: string, label: string, boundUs: number | undefined][] = [
  ["auth", "authentication + RBAC", 8],
  ["limit", "a rate limit that never refuses", 5],
  ["audit", "write-ahead audit (SQLite)", undefined],
];

export async function runFeatureCostsBench(options: { pairs?: number; progress?: (text: string) => void } = {}): Promise<string> {
  const pairs = options.pairs ?? 60;
  const progress = options.progress ?? ((text: string) => console.error(`[bench:features] ${text}`));
  const lines = [
    "### Feature costs in one process (bench/feature-cpu-in-process.ts)",
    "",
    `A relay-only gateway and one with the feature, both in one process in front of the stdio echo, their fetch handlers called alternately in 100 ms windows (${pairs} pairs, 16 loops of 2025-session tools/call), CPU µs per call of the process (no HTTP): the median of the pairs' differences.`,
    "",
    "| feature | relay only µs/call | with the feature | added µs/call |",
    "|---|--:|--:|--:|",
  ];
  const checks: Check[] = [];
  for (const [feature, label, boundUs] of FEATURES) {
    progress(`${label}: ${pairs} pairs`);
    const run = await runToCompletion(
      [process.execPath, join(import.meta.dir, "feature-cpu-in-process.ts"), "--feature", feature, "--pairs", String(pairs), "--json"],
      { timeoutMs: 300_000 },
    );
    const cost = run.code === 0 ? parsedCost(run.stdout) : undefined;
    if (cost === undefined) {
      lines.push(`| ${label} | n/a | n/a | n/a |`);
      checks.push({
        label: `${label} (in one process)`,
        status: "n/a",
        detail: `the measurement failed (exit ${run.code}): ${run.output.trim().split("\n").at(-1) ?? ""}`,
      });
      continue;
    }
    progress(`  ${signed(cost.addedUs)} µs per call`);
    lines.push(`| ${label} | ${cost.relayOnlyUs.toFixed(1)} | ${cost.withFeatureUs.toFixed(1)} | ${signed(cost.addedUs)} |`);
    const detail = `${signed(cost.addedUs)} µs: ${cost.withFeatureUs.toFixed(1)} vs ${cost.relayOnlyUs.toFixed(1)} µs`;
    checks.push(
      boundUs === undefined
        ? { label: `${label}: added CPU per call in one process (no target)`, status: "info", detail }
        : { label: `${label} adds ≤ ${boundUs} µs CPU per call (in one process)`, status: cost.addedUs <= boundUs ? "PASS" : "FAIL", detail },
    );
  }
  return [...lines, "", "Targets:", ...checks.map((check) => checkLine(check))].join("\n");
}

/** The JSON line the measurement printed last, or undefined. */
function parsedCost(stdout: string): FeatureCost | undefined {
  try {
    const cost = JSON.parse(stdout.trim().split("\n").at(-1) ?? "") as FeatureCost;
    return Number.isFinite(cost.addedUs) ? cost : undefined;
  } catch {
    return undefined;
  }
}

function signed(us: number): string {
  return `${us >= 0 ? "+" : ""}${us.toFixed(1)}`;
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { pairs: { type: "string", default: "60" } } });
  console.log(await runFeatureCostsBench({ pairs: Number(values.pairs) }));
}
