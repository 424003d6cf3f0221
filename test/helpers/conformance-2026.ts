import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { REPO_ROOT } from "./cli.ts";
import { BUN, NODE_MODULES } from "./gateway.ts";
import { tempDir } from "./temp-dir.ts";

/** @modelcontextprotocol/conformance 0.2.0-alpha.12, installed under an alias beside the 0.1.16 that conformance.test.ts runs. */
export const CONFORMANCE_2026 = join(NODE_MODULES, "conformance-2026");
const VERSION = "2026-07-28";

export interface ConformanceRun {
  /** The server scenarios 2026-07-28 requires, from the suite's own frozen requirements file. */
  required: string[];
  requiredPassed: string[];
  /** Scenario → passed (✓) or not, with its passed-check count. */
  scenarios: Map<string, { ok: boolean; passed: number }>;
  /** "<scenario dir>: <check id>" of every failed check. */
  failedChecks: string[];
  totalPassed: number;
  totalFailed: number;
  exitCode: number;
  output: string;
  /** One line for the log and the README: required N/M, scenarios, checks. */
  summary: string;
}

/** Runs the 2026-07-28 server scenarios (`--suite all`) against an MCP endpoint and reads the results. */
export async function runConformance2026(url: string): Promise<ConformanceRun> {
  const required = (parseYaml(readFileSync(join(CONFORMANCE_2026, "requirements/2026-07-28.yaml"), "utf8")) as { server: string[] }).server;
  const results = tempDir("mcpgw-conformance-");
  try {
    const command = [BUN, join(CONFORMANCE_2026, "dist/index.js"), "server", "--url", url, "--suite", "all", "--spec-version", VERSION, "-o", results.path];
    const child = Bun.spawn(command, { cwd: REPO_ROOT, stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    const output = stdout + stderr;
    // The summary has one "✓|✗ <scenario>: N passed, M failed" line per scenario, then "Total: …".
    const scenarios = new Map(
      [...output.matchAll(/^([✓✗]) ([\w-]+): (\d+) passed, (\d+) failed/gm)].map((m) => [m[2]!, { ok: m[1] === "✓", passed: Number(m[3]) }]),
    );
    const total = /Total: (\d+) passed, (\d+) failed/.exec(output);
    // Every scenario also leaves server-<scenario>-<timestamp>/checks.json; a FAILURE there is a failed check.
    const failedChecks = readdirSync(results.path).flatMap((dir) =>
      (JSON.parse(readFileSync(join(results.path, dir, "checks.json"), "utf8")) as Array<{ id: string; status: string }>)
        .filter((check) => check.status === "FAILURE")
        .map((check) => `${dir}: ${check.id}`),
    );
    const requiredPassed = required.filter((name) => scenarios.get(name)?.ok && (scenarios.get(name)?.passed ?? 0) > 0);
    const totalPassed = Number(total?.[1] ?? 0);
    const totalFailed = Number(total?.[2] ?? -1);
    const summary =
      `conformance 0.2.0-alpha.12 (${VERSION}, --suite all): required ${requiredPassed.length}/${required.length} scenarios, ` +
      `${[...scenarios.values()].filter((s) => s.ok).length}/${scenarios.size} scenarios in all, checks ${totalPassed} passed, ${totalFailed} failed`;
    return { required, requiredPassed, scenarios, failedChecks, totalPassed, totalFailed, exitCode, output, summary };
  } finally {
    results.remove();
  }
}
