import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkLineCoverage, configuredThreshold } from "../scripts/coverage-check.ts";
import { CoverageInputError, folderOf, formatFolderTable, readCoverageSummary } from "../scripts/coverage-summary.ts";
import { cleanEnv, REPO_ROOT } from "./helpers/cli.ts";
import { tempDir } from "./helpers/temp-dir.ts";

// The coverage scripts read istanbul's json-summary; these tests feed them small summaries written here,
// shaped as istanbul writes them (absolute paths, a "total" entry, pct and skipped beside the counts).
const scratch = tempDir("mcpgw-coverage-");
afterAll(() => scratch.remove());

interface FakeFile {
  path: string;
  lines: [covered: number, total: number];
  functions?: [covered: number, total: number];
}

let written = 0;
function writeSummary(files: FakeFile[], total = { lines: { total: 1, covered: 1, skipped: 0, pct: 100 } }): string {
  const counts = ([covered, total]: [number, number]) => ({ total, covered, skipped: 0, pct: total ? (covered / total) * 100 : 100 });
  const summary: Record<string, unknown> = { total };
  for (const file of files) {
    summary[join(REPO_ROOT, file.path)] = {
      lines: counts(file.lines),
      statements: counts(file.lines),
      functions: counts(file.functions ?? [1, 1]),
      branches: counts([0, 0]),
    };
  }
  const path = join(scratch.path, `summary-${++written}.json`);
  writeFileSync(path, JSON.stringify(summary));
  return path;
}

async function runCheck(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = Bun.spawn([process.execPath, join(REPO_ROOT, "scripts", "coverage-check.ts"), ...args], {
    cwd: REPO_ROOT,
    env: cleanEnv(),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, stdout, stderr };
}

/** A summary whose src/ lines are at `percent` (out of 10,000 lines in two folders), plus cli/ at 100%. */
function summaryAt(percent: number): string {
  const covered = Math.round(percent * 100);
  const half = Math.floor(covered / 2);
  return writeSummary([
    { path: "src/audit/auditor.ts", lines: [half, 5_000] },
    { path: "src/front/front.ts", lines: [covered - half, 5_000] },
    { path: "cli/commands/serve.ts", lines: [4_000, 4_000] },
  ]);
}

describe("coverage:check (scripts/coverage-check.ts)", () => {
  const threshold = configuredThreshold();

  it("package.json holds a real threshold", () => {
    expect(threshold).toBeGreaterThan(30);
    expect(threshold).toBeLessThanOrEqual(100);
  });

  it("the README states the figure above the threshold it names, and names package.json's threshold", () => {
    const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
    const stated = /"mcpgw": \{ "coverageThreshold": (\d+(?:\.\d+)?) \}/.exec(readme)?.[1];
    expect(Number(stated), "the threshold the README names").toBe(threshold);
    const figure = /Line coverage of `src\/` is (\d+(?:\.\d+)?)%/.exec(readme)?.[1];
    expect(figure, 'README: "Line coverage of `src/` is N%"').toBeDefined();
    expect(Number(figure)).toBeGreaterThanOrEqual(threshold);
  });

  it("exits 1 below the threshold in package.json, naming the figure and the threshold", async () => {
    const result = await runCheck("--summary", summaryAt(threshold - 1));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`line coverage of src/ is ${(threshold - 1).toFixed(2)}%`);
    expect(result.stderr).toContain(`below the threshold of ${threshold}% (package.json "mcpgw": { "coverageThreshold" })`);
    expect(result.stderr).toContain("Add tests");
  });

  it("exits 0 at and above the threshold", async () => {
    for (const figure of [threshold, Math.min(100, threshold + 0.5)]) {
      const result = await runCheck("--summary", summaryAt(figure));
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`line coverage of src/ is ${figure.toFixed(2)}%`);
      expect(result.stdout).toContain(`at or above the threshold of ${threshold}%`);
    }
  });

  it("counts only src/: a fully covered cli/ does not lift src/ over the threshold", () => {
    const files = readCoverageSummary(summaryAt(50));
    const verdict = checkLineCoverage(files, 60);
    expect(verdict.ok).toBe(false);
    expect(verdict.message).toContain("line coverage of src/ is 50.00% (5000 of 10000 lines in 2 files)");
  });

  it("--threshold overrides package.json for a one-off look, and suggests raising a threshold left far behind", async () => {
    const below = await runCheck("--summary", summaryAt(70), "--threshold", "80");
    expect(below.code).toBe(1);
    expect(below.stderr).toContain("below the threshold of 80% (--threshold)");
    const above = await runCheck("--summary", summaryAt(70), "--threshold", "60");
    expect(above.code).toBe(0);
    expect(above.stdout).toContain("raise the threshold to 70");
  });

  it("says what to do when there is no summary, the summary is not istanbul's, or it lists nothing under src/", async () => {
    const missing = await runCheck("--summary", join(scratch.path, "absent.json"));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no coverage summary at");
    expect(missing.stderr).toContain("run `npm run coverage` first");

    const notJson = join(scratch.path, "not-json.json");
    writeFileSync(notJson, "<html>");
    const garbled = await runCheck("--summary", notJson);
    expect(garbled.code).toBe(1);
    expect(garbled.stderr).toContain("is not JSON");

    const cliOnly = await runCheck("--summary", writeSummary([{ path: "cli/main.ts", lines: [10, 10] }]));
    expect(cliOnly.code).toBe(1);
    expect(cliOnly.stderr).toContain("lists no lines under src/");

    const badThreshold = await runCheck("--summary", summaryAt(70), "--threshold", "high");
    expect(badThreshold.code).toBe(1);
    expect(badThreshold.stderr).toContain("--threshold needs a percentage between 0 and 100");
  });

  it("refuses a package.json threshold that is not a percentage", () => {
    const manifest = join(scratch.path, "package.json");
    writeFileSync(manifest, JSON.stringify({ mcpgw: { coverageThreshold: "80%" } }));
    expect(() => configuredThreshold(manifest)).toThrow(CoverageInputError);
    expect(() => configuredThreshold(manifest)).toThrow(/coverageThreshold.*must be a percentage between 0 and 100 \(it is "80%"\)/);
  });
});

describe("per-folder table (scripts/coverage-summary.ts)", () => {
  it("groups files by their first two folders; files directly in src/ form their own row", () => {
    expect(folderOf("src/audit/auditor.ts")).toBe("src/audit");
    expect(folderOf("src/front/modern/session.ts")).toBe("src/front");
    expect(folderOf("src/gateway.ts")).toBe("src/*.ts");
    expect(folderOf("cli/commands/serve.ts")).toBe("cli/commands");
  });

  it("sums lines, functions and branches per folder, with src/ and overall totals under a rule", () => {
    const files = readCoverageSummary(
      writeSummary([
        { path: "src/audit/auditor.ts", lines: [30, 40], functions: [3, 4] },
        { path: "src/audit/redact.ts", lines: [10, 60], functions: [1, 4] },
        { path: "src/gateway.ts", lines: [0, 20], functions: [0, 2] },
        { path: "cli/commands/serve.ts", lines: [5, 10] },
      ]),
    );
    const table = formatFolderTable(files).split("\n");
    const row = (folder: string) =>
      table
        .find((line) => line.startsWith(`${folder} `))
        ?.trim()
        .split(/\s+/);
    expect(table[0]!.split(/\s+/)).toEqual(["folder", "files", "lines", "lines", "%", "functions", "%", "branches", "%"]);
    expect(row("src/audit")).toEqual(["src/audit", "2", "40/100", "40.0", "50.0", "100.0"]);
    expect(row("src/*.ts")).toEqual(["src/*.ts", "1", "0/20", "0.0", "0.0", "100.0"]);
    expect(row("cli/commands")).toEqual(["cli/commands", "1", "5/10", "50.0", "100.0", "100.0"]);
    expect(row("src/")).toEqual(["src/", "total", "3", "40/120", "33.3", "40.0", "100.0"]);
    expect(row("all")).toEqual(["all", "4", "45/130", "34.6", "45.5", "100.0"]);
    // Folders first (sorted), then a rule, then the two totals.
    expect(table.map((line) => line.split(/\s+/)[0])).toEqual([
      "folder",
      expect.stringMatching(/^-+$/),
      "cli/commands",
      "src/*.ts",
      "src/audit",
      expect.stringMatching(/^-+$/),
      "src/",
      "all",
    ]);
  });
});

describe("vitest.config.ts", () => {
  it("names the JSON report's file in outputFile, where the coverage run's --outputFile.json can move it off npm test's", async () => {
    // Named in the reporter's own options instead, the file would win over --outputFile.json, and the
    // coverage run in .ci/run would replace the report that CI's closing line counts.
    const { default: config } = await import("../vitest.config.ts");
    expect(config.test?.outputFile).toEqual({ json: ".tmp/test-report.json" });
    expect(config.test?.reporters).toEqual(["default", "json"]);
    expect(config.test?.coverage).toMatchObject({ provider: "istanbul", reportsDirectory: "coverage", reportOnFailure: true });
  });
});
