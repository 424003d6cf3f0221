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
    // The JSON report is what .ci/run reads for its closing "N passed, N failed" line.
    reporters: ["default", ["json", { outputFile: ".tmp/test-report.json" }]],
  },
});
