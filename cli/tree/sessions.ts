import type { Command } from "commander";
import { commandContext } from "../context.ts";

/** `mcpgw sessions list`: the MCP sessions of the running gateways, as they publish them to the database. */
export function addSessionsCommands(program: Command): void {
  const sessions = program
    .command("sessions")
    .description("MCP sessions of the running gateways (published to the database every few seconds)")
    .addHelpText("after", "\nExamples:\n  mcpgw sessions list\n  mcpgw sessions list --json");

  sessions
    .command("list")
    .description("list open sessions: subject, client, route, age, idle time, and the backends each has a process of its own at (with pids)")
    .option("--include-stale", "also show sessions of gateways that stopped publishing (crashed or cut off from the database)")
    .option("--json", "print JSON for scripts")
    .addHelpText(
      "after",
      "\nExamples:\n  mcpgw sessions list\n  mcpgw sessions list --json | jq '.[] | select(.subject == \"alice\")'\n  mcpgw sessions list --db postgres://mcpgw@db:5432/mcpgw --include-stale",
    )
    .action(async (options: { includeStale?: boolean; json?: boolean }, command: Command) => {
      const { runSessionsList } = await import("../commands/sessions.ts");
      await runSessionsList(commandContext(command), options);
    });
}
