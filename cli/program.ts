import { Command, Option } from "commander";
import { LOG_LEVELS } from "../src/config/settings.ts";
import { commandContext } from "./context.ts";
import { VERSION } from "./version.ts";

/**
 * The mcpgw command tree. Only names, flags and help live here; each action imports its
 * command module when it runs, so `--help` and admin commands never load the server.
 */
export function buildProgram(): Command {
  const program = new Command("mcpgw")
    .description("A gateway for the Model Context Protocol: authentication, policy, limits and audit in front of MCP servers.")
    .version(VERSION, "-V, --version")
    .option("--db <url>", "database: sqlite:PATH or postgres://… (env MCPGW_DATABASE_URL; default sqlite:mcpgw.db)")
    .addOption(new Option("--log-level <level>", "log level (env MCPGW_LOG_LEVEL); debug also prints stack traces").choices(LOG_LEVELS))
    .showHelpAfterError("(run mcpgw --help for usage)")
    .showSuggestionAfterError(true)
    .exitOverride();

  program
    .command("serve")
    .description("run the gateway (migrates the database first)")
    .option("--port <n>", "port to listen on (env MCPGW_PORT; default 8080)")
    .option("--host <host>", "address to listen on (env MCPGW_HOST; default 127.0.0.1)")
    .action(async (_options, command: Command) => {
      const { runServe } = await import("./commands/serve.ts");
      await runServe(commandContext(command));
    });

  program
    .command("migrate")
    .description("apply pending database migrations")
    .option("--json", "print the result as JSON")
    .action(async (options: { json?: boolean }, command: Command) => {
      const { runMigrate } = await import("./commands/migrate.ts");
      await runMigrate(commandContext(command), options);
    });

  for (const command of program.commands) command.exitOverride().showHelpAfterError(`(run mcpgw ${command.name()} --help for usage)`);
  return program;
}
