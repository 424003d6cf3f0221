import { defineConfig } from "vitest/config";

// Tests run inside Bun (`bun --bun vitest run`) because the store uses bun:sqlite and the
// gateway uses Bun.serve. Vitest's "forks" pool cannot start under Bun (child.channel.unref
// is missing), so test files run in worker threads instead.
export default defineConfig({
  test: {
    pool: "threads",
    include: ["test/**/*.test.ts", "src/**/*.test.ts", "cli/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // The JSON report is what .ci/run reads for its closing "N passed, N failed" line. Its file is set in
    // outputFile rather than in the reporter's options so that `--outputFile.json=…` can move it: the
    // coverage run (scripts/coverage-run.ts) does, and must not replace the report of `npm test`.
    reporters: ["default", "json"],
    outputFile: { json: ".tmp/test-report.json" },
    // Off unless asked for (`npm run coverage`, i.e. `vitest run --coverage`). Bun runs JavaScriptCore,
    // which has no V8 coverage, so istanbul instruments the sources as vitest loads them. Only code
    // loaded in the test processes is counted: the CLI and `mcpgw serve` that tests spawn are not.
    coverage: {
      provider: "istanbul",
      // Every source file is listed, an untested one at 0%, so a new module without tests lowers the figure.
      include: ["src/**/*.ts", "cli/**/*.ts"],
      // The console's app runs in the browser (console.browser.test.ts drives it there), where istanbul does not count.
      exclude: ["**/*.test.ts", "src/console/app/**"],
      // json-summary feeds scripts/coverage-summary.ts (per-folder table) and scripts/coverage-check.ts
      // (the threshold); lcov (lcov.info plus its HTML pages) is for editors and other tools.
      reporter: ["json-summary", "lcov"],
      reportsDirectory: "coverage",
      // Timing tests may fail under instrumentation; the figure is still wanted.
      reportOnFailure: true,
    },
  },
});
