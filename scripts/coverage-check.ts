/**
 * Fails (exit 1) when line coverage of src/ in the coverage summary is below the threshold kept in
 * package.json ("mcpgw": { "coverageThreshold": N }). `.ci/run` runs it after `npm run coverage`.
 *   bun scripts/coverage-check.ts [--summary FILE] [--threshold PERCENT]
 * --threshold overrides package.json for a one-off look; CI uses package.json's.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  CHECKED_FOLDER,
  CoverageInputError,
  PROJECT_ROOT,
  type FileCounts,
  percent,
  readCoverageSummary,
  summaryFileArgument,
  totalsUnder,
} from "./coverage-summary.ts";

const THRESHOLD_SOURCE = 'package.json "mcpgw": { "coverageThreshold" }';
/** How far above the threshold the figure may climb before the check suggests raising it. */
const RAISE_HINT_MARGIN = 2;

/** The threshold in percent from package.json. */
export function configuredThreshold(packageJson = join(PROJECT_ROOT, "package.json")): number {
  const manifest = JSON.parse(readFileSync(packageJson, "utf8")) as { mcpgw?: { coverageThreshold?: unknown } };
  const threshold = manifest.mcpgw?.coverageThreshold;
  if (typeof threshold !== "number" || !(threshold >= 0 && threshold <= 100)) {
    throw new CoverageInputError(`${THRESHOLD_SOURCE} must be a percentage between 0 and 100 (it is ${JSON.stringify(threshold)})`);
  }
  return threshold;
}

export interface CheckVerdict {
  ok: boolean;
  message: string;
}

/** Compares line coverage of src/ with the threshold and says so in one message. */
export function checkLineCoverage(files: Map<string, FileCounts>, threshold: number, source = THRESHOLD_SOURCE): CheckVerdict {
  const { lines, files: count } = totalsUnder(files, CHECKED_FOLDER);
  if (count === 0 || lines.total === 0) {
    return { ok: false, message: `the coverage summary lists no lines under ${CHECKED_FOLDER}/: run \`npm run coverage\` on the whole suite` };
  }
  const figure = percent(lines);
  const measured = `line coverage of ${CHECKED_FOLDER}/ is ${figure.toFixed(2)}% (${lines.covered} of ${lines.total} lines in ${count} files)`;
  if (figure < threshold) {
    return {
      ok: false,
      message:
        `${measured}, below the threshold of ${threshold}% (${source}). ` +
        "Add tests for the code that lost coverage (the per-folder table of `npm run coverage` shows where); " +
        `lower the threshold in ${THRESHOLD_SOURCE} only if the drop is deliberate.`,
    };
  }
  const hint =
    figure - threshold > RAISE_HINT_MARGIN
      ? ` It is more than ${RAISE_HINT_MARGIN} points above: raise the threshold to ${Math.floor(figure)} to keep it.`
      : "";
  return { ok: true, message: `${measured}, at or above the threshold of ${threshold}% (${source}).${hint}` };
}

function thresholdArgument(args: string[]): number | undefined {
  const at = args.indexOf("--threshold");
  if (at === -1) return undefined;
  const value = Number(args[at + 1]);
  if (args[at + 1] === undefined || !Number.isFinite(value) || value < 0 || value > 100) {
    throw new CoverageInputError(`--threshold needs a percentage between 0 and 100 (got ${JSON.stringify(args[at + 1])})`);
  }
  return value;
}

if (import.meta.main) {
  try {
    const args = process.argv.slice(2);
    const override = thresholdArgument(args);
    const files = readCoverageSummary(summaryFileArgument(args));
    const verdict = override === undefined ? checkLineCoverage(files, configuredThreshold()) : checkLineCoverage(files, override, "--threshold");
    (verdict.ok ? console.log : console.error)(`coverage: ${verdict.message}`);
    process.exit(verdict.ok ? 0 : 1);
  } catch (error) {
    if (!(error instanceof CoverageInputError)) throw error;
    console.error(`coverage: ${error.message}`);
    process.exit(1);
  }
}
