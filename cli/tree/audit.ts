import { type Command, Option } from "commander";
import type { ExportOptions } from "../commands/audit.ts";
import { commandContext } from "../context.ts";

/** `mcpgw audit tail|verify|export|prune`. */
export function addAuditCommands(program: Command): void {
  const audit = program
    .command("audit")
    .description("read, follow, verify, export and prune the audit log")
    .addHelpText("after", "\nExamples:\n  mcpgw audit tail -f --sub alice\n  mcpgw audit verify");
  const load = () => import("../commands/audit.ts");
  const statuses = ["ok", "error", "denied", "rate_limited", "unauthenticated", "invalid", "timeout", "cancelled", "incomplete", "pending"];

  audit
    .command("tail")
    .description("the latest records, one line each (colour on a terminal); -f keeps printing calls as they end")
    .addHelpText("after", "\nExamples:\n  mcpgw audit tail -n 50 --status denied\n  mcpgw audit tail -f --tool 'github/*' --json")
    .option("-f, --follow", "keep following: print each record when its call ends (Ctrl-C stops)")
    .option("-n, --lines <n>", "how many recent records to print first (default 20)")
    .option("--sub <subject>", "only this subject's calls")
    .option("--tool <pattern>", "only tools matching BACKEND/TOOL (globs: github/*, */read_*); a bare name matches any backend")
    .addOption(new Option("--status <status>", "only records with this status").choices(statuses))
    .option("--since <when>", "only calls since a duration ago (15m, 24h) or a date (2025-01-31)")
    .option("--json", "one JSON object per line, for scripts")
    .action(
      async (options: { follow?: boolean; lines?: string; sub?: string; tool?: string; status?: string; since?: string; json?: boolean }, command: Command) => {
        const { runAuditTail } = await load();
        await runAuditTail(commandContext(command), options);
      },
    );

  audit
    .command("verify")
    .description("recompute every hash chain and report the first altered, deleted or reordered record of each (exit 1 if any)")
    .addHelpText("after", "\nExample:\n  mcpgw audit verify --json")
    .option("--json", "print the per-chain report as JSON")
    .action(async (options: { json?: boolean }, command: Command) => {
      const { runAuditVerify } = await load();
      await runAuditVerify(commandContext(command), options);
    });

  audit
    .command("export")
    .description("write records oldest first as JSON lines or CSV, page by page (memory stays flat)")
    .addHelpText(
      "after",
      "\nExamples:\n  mcpgw audit export --format csv --since 30d --out audit.csv\n" +
        "  mcpgw audit export --since 2025-01-01 --until 2025-02-01 --sub alice --backend github --status denied > january.jsonl",
    )
    .addOption(new Option("--format <format>", "jsonl or csv").choices(["jsonl", "csv"]).default("jsonl"))
    .option("--since <when>", "only calls since a duration ago (15m, 24h) or a date (2025-01-31)")
    .option("--until <when>", "only calls before a duration ago (1h) or a date (2025-02-01)")
    .option("--sub <subject>", "only this subject's calls")
    .option("--backend <name>", "only calls to this backend")
    .option("--tool <pattern>", "only tools matching BACKEND/TOOL (globs: github/*, */read_*); a bare name matches any backend")
    .addOption(new Option("--status <status>", "only records with this status").choices(statuses))
    .option("--out <file>", "write to this file instead of stdout (progress goes to stderr: a bar on a terminal, a counter line otherwise)")
    .action(async (options: ExportOptions, command: Command) => {
      const { runAuditExport } = await load();
      await runAuditExport(commandContext(command), options);
    });

  audit
    .command("prune")
    .description("delete records finished before a date, leaving a checkpoint so audit verify still passes")
    .addHelpText("after", "\nExample:\n  mcpgw audit prune --before 90d --yes")
    .requiredOption("--before <when>", "a date (2025-01-31) or a duration ago (90d): records finished before it go")
    .option("--yes", "do not ask for confirmation (required when stdin is not a terminal)")
    .action(async (options: { before: string; yes?: boolean }, command: Command) => {
      const { runAuditPrune } = await load();
      await runAuditPrune(commandContext(command), options);
    });
}
