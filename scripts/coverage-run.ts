/**
 * `npm run coverage [-- --log FILE] [-- vitest arguments]`: the suites under vitest with istanbul coverage
 * (options in vitest.config.ts), then the per-folder table. Exits with vitest's code.
 *
 * The run writes its own JSON test report (.tmp/coverage-test-report.json, through --outputFile.json), not
 * .tmp/test-report.json, because .ci/run's closing line counts the tests of `npm test`, not of this
 * instrumented second run.
 * `--log FILE` sends vitest's output to FILE and keeps only the counts and the table on the terminal.
 */
import { existsSync, mkdirSync, openSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { configuredThreshold } from "./coverage-check.ts";
import { CHECKED_FOLDER, CoverageInputError, formatFolderTable, PROJECT_ROOT, readCoverageSummary, SUMMARY_FILE } from "./coverage-summary.ts";

const TEST_REPORT = join(PROJECT_ROOT, ".tmp", "coverage-test-report.json");

function splitLogArgument(args: string[]): { log: string | undefined; vitestArgs: string[] } {
  const at = args.indexOf("--log");
  if (at === -1) return { log: undefined, vitestArgs: args };
  const log = args[at + 1];
  if (!log) throw new CoverageInputError("--log needs a file: npm run coverage -- --log .tmp/coverage-run.log");
  return { log: resolve(log), vitestArgs: [...args.slice(0, at), ...args.slice(at + 2)] };
}

function testCounts(): string {
  if (!existsSync(TEST_REPORT)) return "vitest wrote no test report";
  const report = JSON.parse(readFileSync(TEST_REPORT, "utf8")) as Record<string, number>;
  const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  return `${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped`;
}

try {
  const { log, vitestArgs } = splitLogArgument(process.argv.slice(2));
  let output: "inherit" | number = "inherit";
  if (log) {
    mkdirSync(dirname(log), { recursive: true });
    output = openSync(log, "w");
  }
  rmSync(TEST_REPORT, { force: true }); // a stale report would give the counts of an earlier run
  const started = performance.now();
  // `bun --bun` as in `npm test`: the tests need Bun's runtime (bun:sqlite, Bun.serve), not Node's.
  const vitest = Bun.spawn(
    [
      process.execPath,
      "--bun",
      join(PROJECT_ROOT, "node_modules", "vitest", "vitest.mjs"),
      "run",
      "--coverage",
      `--outputFile.json=${TEST_REPORT}`,
      ...vitestArgs,
    ],
    { cwd: PROJECT_ROOT, stdin: "inherit", stdout: output, stderr: output },
  );
  const code = await vitest.exited;
  const seconds = Math.round((performance.now() - started) / 1000);
  console.log(`\ncoverage run: ${testCounts()} in ${seconds}s${log ? ` (vitest's output: ${log})` : ""}`);
  console.log(`in-process coverage (code run by spawned CLI and server processes is not counted), lcov in coverage/lcov.info:\n`);
  console.log(formatFolderTable(readCoverageSummary(SUMMARY_FILE)));
  console.log(
    `\nthreshold for ${CHECKED_FOLDER}/ lines: ${configuredThreshold()}% (package.json "mcpgw": { "coverageThreshold" }), checked by \`npm run coverage:check\``,
  );
  process.exit(code);
} catch (error) {
  if (!(error instanceof CoverageInputError)) throw error;
  console.error(`coverage: ${error.message}`);
  process.exit(1);
}
