import type { Command } from "commander";
import { commandContext } from "../context.ts";

/** `mcpgw limit set|update|list|remove`. */
export function addLimitCommands(program: Command): void {
  const limit = program
    .command("limit")
    .description("rate limits and quotas per subject, role or everyone")
    .addHelpText("after", "\nExamples:\n  mcpgw limit set --sub alice --rate 60/min\n  mcpgw limit list");
  const load = () => import("../commands/limit.ts");

  limit
    .command("set")
    .description(
      "set a rate limit: adds one, or replaces the rule with the same whom, tool and period (all matching rules apply; the most restrictive refuses)",
    )
    .option("--sub <subject>", "limit one subject")
    .option("--role <role>", "limit each subject that has this role")
    .option("--global", "one budget shared by all callers")
    .option("--tool <pattern>", "count only calls of tools matching BACKEND/TOOL (globs allowed); lists are never counted")
    .option("--rate <N/unit>", "calls per s, min, h or day, e.g. 100/min (per h and per day are quotas that survive restarts)")
    .option("--burst <n>", "calls allowed at once (default: N)")
    .addHelpText(
      "after",
      "\nExamples:\n  mcpgw limit set --sub alice --rate 60/min\n  mcpgw limit set --role intern --tool 'github/*' --rate 500/day\n  mcpgw limit set --global --rate 200/s --burst 50",
    )
    .action(async (options: { sub?: string; role?: string; global?: boolean; tool?: string; rate?: string; burst?: string }, command: Command) => {
      const { runLimitSet } = await load();
      await runLimitSet(commandContext(command), options);
    });

  limit
    .command("update")
    .description("change a rule's rate or burst in place (its id, whom and tool stay; so does what was spent)")
    .argument("<id>", "rule id, from mcpgw limit list")
    .option("--rate <N/unit>", "new calls per s, min, h or day")
    .option("--burst <n>", "new burst (default: kept, or the new N when it was the whole rate)")
    .addHelpText("after", "\nExamples:\n  mcpgw limit update lim_3f2a9c1e8d --rate 120/min\n  mcpgw limit update lim_3f2a9c1e8d --burst 10")
    .action(async (id: string, options: { rate?: string; burst?: string }, command: Command) => {
      const { runLimitUpdate } = await load();
      await runLimitUpdate(commandContext(command), id, options);
    });

  limit
    .command("list")
    .description("list the rate-limit rules")
    .addHelpText("after", "\nExamples:\n  mcpgw limit list --json\n  mcpgw limit list --usage")
    .option("--json", "print JSON for scripts")
    .option("--usage", "show what each rule's buckets hold now: calls used and left, and when the bucket is full again (one row per counted subject)")
    .action(async (options: { json?: boolean; usage?: boolean }, command: Command) => {
      const { runLimitList } = await load();
      await runLimitList(commandContext(command), options);
    });

  limit
    .command("remove")
    .description("remove a rate-limit rule (and its counters)")
    .addHelpText("after", "\nExample:\n  mcpgw limit remove lim_3f2a9c1e8d")
    .argument("<id>", "rule id, from mcpgw limit list")
    .action(async (id: string, _options: unknown, command: Command) => {
      const { runLimitRemove } = await load();
      await runLimitRemove(commandContext(command), id);
    });
}
