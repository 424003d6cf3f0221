import { Command, Option } from "commander";
import { LOG_LEVELS } from "../src/config/settings.ts";
import { commandContext } from "./context.ts";
import { refuseServerUnlessRemote } from "./remote/remote-commands.ts";
import { addClientCommands, addKeyCommands, addRoleCommands, addTokenCommands } from "./tree/access.ts";
import { addAuditCommands } from "./tree/audit.ts";
import { addBackendCommands } from "./tree/backend.ts";
import { addJobsCommands } from "./tree/jobs.ts";
import { addLimitCommands } from "./tree/limit.ts";
import { addOperatorCommands } from "./tree/operator.ts";
import { addSecretCommands } from "./tree/secret.ts";
import { addSessionsCommands } from "./tree/sessions.ts";
import { addToolsCommands } from "./tree/tools.ts";
import { VERSION } from "./version.ts";

/**
 * The mcpgw command tree. Only names, flags and help live here and in cli/tree/ (one file per
 * command group); each action imports its command module when it runs, so `--help` and admin
 * commands never load the server.
 */
export function buildProgram(): Command {
  const program = new Command("mcpgw")
    .description("A gateway for the Model Context Protocol: authentication, policy, limits and audit in front of MCP servers.")
    .addHelpText(
      "after",
      "\nExamples:\n  mcpgw init                  # set up a database, an admin token and a first backend here\n  mcpgw serve                 # run the gateway (reads .env from the working directory)\n  mcpgw doctor                # check the set-up and say how to fix what is wrong\n  mcpgw <command> --help      # every command has examples",
    )
    .version(VERSION, "-V, --version")
    .option("--db <url>", "database: sqlite:PATH or postgres://… (env MCPGW_DATABASE_URL; default sqlite:mcpgw.db; a given --db wins over MCPGW_SERVER)")
    .option("--server <url>", "work through a running gateway's admin API instead of the database: backend, role, token and limit commands (env MCPGW_SERVER)")
    .option("--token <token>", "with --server: an admin token, one whose roles allow admin:* (env MCPGW_TOKEN)")
    .addOption(new Option("--log-level <level>", "log level (env MCPGW_LOG_LEVEL); debug also prints stack traces").choices(LOG_LEVELS))
    .showHelpAfterError("(run mcpgw --help for usage)")
    .showSuggestionAfterError(true)
    .exitOverride()
    // Before any action: a command that cannot work through the admin API refuses --server rather than open the database.
    .hook("preAction", (_program, action) => refuseServerUnlessRemote(action));

  program
    .command("serve")
    .description("run the gateway (migrates the database first)")
    .addHelpText("after", "\nExamples:\n  mcpgw serve\n  mcpgw serve --db postgres://mcpgw@db:5432/mcpgw --host 0.0.0.0 --port 9000")
    .option("--port <n>", "port to listen on (env MCPGW_PORT; default 8080)")
    .option("--host <host>", "address to listen on (env MCPGW_HOST; default 127.0.0.1)")
    .action(async (_options, command: Command) => {
      const { runServe } = await import("./commands/serve.ts");
      await runServe(commandContext(command));
    });

  program
    .command("migrate")
    .description("apply pending database migrations")
    .addHelpText("after", "\nExample:\n  mcpgw migrate --db postgres://mcpgw@db:5432/mcpgw")
    .option("--json", "print the result as JSON")
    .action(async (options: { json?: boolean }, command: Command) => {
      const { runMigrate } = await import("./commands/migrate.ts");
      await runMigrate(commandContext(command), options);
    });

  addBackendCommands(program);
  addSecretCommands(program);

  addRoleCommands(program);
  addLimitCommands(program);

  addTokenCommands(program);
  addClientCommands(program);
  addKeyCommands(program);
  addAuditCommands(program);
  addJobsCommands(program);
  addSessionsCommands(program);
  addToolsCommands(program);

  program
    .command("apply")
    .description(
      "make roles, grants, backends and limits match a YAML document, in one transaction (sections the document has are matched exactly; absent ones are left alone)",
    )
    .requiredOption("-f, --file <file>", "the YAML document (- reads stdin); see docs/declarative.md")
    .option("--dry-run", "print what would change, change nothing")
    .option("--json", "print the changes as JSON for scripts")
    .addHelpText(
      "after",
      "\nExamples:\n  mcpgw apply -f mcpgw.yaml --dry-run\n  mcpgw apply -f mcpgw.yaml\n  mcpgw export > mcpgw.yaml   # a complete document to start from",
    )
    .action(async (options: { file: string; dryRun?: boolean; json?: boolean }, command: Command) => {
      const { runApply } = await import("./commands/apply.ts");
      await runApply(commandContext(command), options);
    });

  program
    .command("export")
    .description("print the roles, grants, backends and limits as a YAML document that mcpgw apply reads back unchanged")
    .option("--out <file>", "write to this file (mode 0600: it holds header and env values as stored) instead of stdout")
    .addHelpText("after", "\nExample:\n  mcpgw export --out mcpgw.yaml && mcpgw apply -f mcpgw.yaml --dry-run   # no changes")
    .action(async (options: { out?: string }, command: Command) => {
      const { runExport } = await import("./commands/export.ts");
      await runExport(commandContext(command), options);
    });

  addOperatorCommands(program);

  for (const command of subcommands(program)) command.exitOverride().showHelpAfterError(`(run ${commandPath(command)} --help for usage)`);
  return program;
}

/** Every command below `command`, at any depth. */
function subcommands(command: Command): Command[] {
  return command.commands.flatMap((child) => [child, ...subcommands(child)]);
}

/** "mcpgw backend add": the words that invoke a command. */
function commandPath(command: Command): string {
  return command.parent ? `${commandPath(command.parent)} ${command.name()}` : command.name();
}
