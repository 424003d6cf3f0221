import type { Command } from "commander";
import type { FlagSettings } from "../../src/config/settings.ts";
import type { CheckResult, CheckStatus } from "../../src/doctor/check-result.ts";
import { runDoctor } from "../../src/doctor/run-doctor.ts";
import { McpgwError } from "../../src/errors.ts";
import { createLogger } from "../../src/log/logger.ts";
import { printJson } from "../output.ts";
import { VERSION } from "../version.ts";

const LABELS = { ok: "ok", warning: "warning", problem: "PROBLEM", skipped: "skipped" } as const satisfies Record<CheckStatus, string>;

/**
 * `mcpgw doctor [--json]`: every check with what is wrong and the fix; exit 1 when any check
 * found a problem. Not built on commandContext: a setting that does not resolve is one of the
 * things it reports, and it must not migrate the database as admin commands do.
 */
export async function runDoctorCommand(command: Command, options: { json?: boolean }): Promise<void> {
  const flags = command.optsWithGlobals<FlagSettings>();
  const report = await runDoctor({
    flags,
    cwd: process.cwd(),
    env: process.env,
    // Quiet unless asked: the report is the output, and a probe's child logs would clutter it.
    logger: (settings) => createLogger({ level: flags.logLevel !== undefined && settings ? settings.logLevel : "silent", fd: 2 }),
    clientVersion: VERSION,
  });
  if (options.json) printJson(report);
  else printReport(report.database, report.checks);
  const problems = report.checks.filter((check) => check.status === "problem").length;
  if (problems > 0) {
    throw new McpgwError(
      `mcpgw doctor found ${problems} problem${problems === 1 ? "" : "s"}`,
      options.json ? "see the checks with status problem and their fix" : "fix them as shown above, then run mcpgw doctor again",
    );
  }
}

function printReport(database: string | undefined, checks: CheckResult[]): void {
  console.log(`mcpgw doctor${database ? `: ${database}` : ""}\n`);
  const width = Math.max(...checks.map((check) => check.check.length));
  const indent = " ".repeat(2 + 9 + width + 2);
  for (const check of checks) {
    console.log(`  ${LABELS[check.status].padEnd(9)}${check.check.padEnd(width)}  ${check.detail}`);
    if (check.fix !== undefined && check.status !== "ok") console.log(`${indent}fix: ${check.fix}`);
  }
  const count = (status: CheckStatus) => checks.filter((check) => check.status === status).length;
  const problems = count("problem");
  const warnings = count("warning");
  console.log(
    `\n${problems === 0 ? "healthy" : `${problems} problem${problems === 1 ? "" : "s"}`}` +
      `${warnings > 0 ? `, ${warnings} warning${warnings === 1 ? "" : "s"}` : ""}; ${count("ok")} of ${checks.length} checks ok`,
  );
}
