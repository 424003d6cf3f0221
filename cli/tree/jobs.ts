import { type Command, Option } from "commander";
import { commandContext } from "../context.ts";

/** `mcpgw jobs list|show|cancel`: the asynchronous tool calls (REST /v1/jobs and MCP tasks) in the shared queue. */
export function addJobsCommands(program: Command): void {
  const jobs = program
    .command("jobs")
    .description("asynchronous tool calls (REST /v1/jobs and MCP tasks): list, inspect, cancel")
    .addHelpText("after", "\nExamples:\n  mcpgw jobs list --status working\n  mcpgw jobs cancel 3f2a9c1e-8d4b-4c55-9a0e-2b7f6d1c0a42");
  const load = () => import("../commands/jobs.ts");

  jobs
    .command("list")
    .description("list jobs, newest first (everyone's: the CLI reads the database)")
    .addOption(new Option("--status <status>", "only jobs in this status").choices(["queued", "working", "input_required", "completed", "failed", "cancelled"]))
    .option("--limit <n>", "at most this many (default 100)")
    .option("--json", "print JSON for scripts")
    .addHelpText("after", "\nExamples:\n  mcpgw jobs list --status working\n  mcpgw jobs list --json --limit 500")
    .action(async (options: { status?: string; limit?: string; json?: boolean }, command: Command) => {
      const { runJobsList } = await load();
      await runJobsList(commandContext(command), options);
    });

  jobs
    .command("show")
    .description("show one job: status, progress, attempts, result or error")
    .argument("<id>", "job id (also the MCP task id)")
    .option("--json", "print JSON for scripts")
    .addHelpText("after", "\nExample:\n  mcpgw jobs show 3f2a9c1e-8d4b-4c55-9a0e-2b7f6d1c0a42")
    .action(async (id: string, options: { json?: boolean }, command: Command) => {
      const { runJobsShow } = await load();
      await runJobsShow(commandContext(command), id, options);
    });

  jobs
    .command("cancel")
    .description("cancel a job: a queued one at once, a running one by its gateway within a second (the backend is told)")
    .argument("<id>", "job id")
    .option("--by <name>", "who cancels, for the audit log (default: the operating-system user)")
    .addHelpText(
      "after",
      "\nExamples:\n  mcpgw jobs cancel 3f2a9c1e-8d4b-4c55-9a0e-2b7f6d1c0a42\n  mcpgw jobs cancel 3f2a9c1e-8d4b-4c55-9a0e-2b7f6d1c0a42 --by oncall-alice",
    )
    .action(async (id: string, options: { by?: string }, command: Command) => {
      const { runJobsCancel } = await load();
      await runJobsCancel(commandContext(command), id, options);
    });
}
