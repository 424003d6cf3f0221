import { Argument, type Command, Option } from "commander";
import { commandContext } from "../context.ts";
import { collect } from "./collect.ts";

/** `mcpgw init`, `mcpgw doctor`, `mcpgw completion`: setting up, checking, and shell completion. */
export function addOperatorCommands(program: Command): void {
  program
    .command("init")
    .description("set up mcpgw here: database, signing key, admin role and token, a first backend, and a .env file (asks on a terminal)")
    .option("-y, --yes", "ask nothing: use the flags and defaults (for scripts and CI); the token alone goes to stdout")
    .option("--force", "with --yes: overwrite an existing .env and replace an existing admin role or backend of the same name")
    .option("--env-file <path>", "where to write the settings", ".env")
    .option("--admin-role <name>", "name of the full-access role to create", "admin")
    .option("--admin-subject <subject>", "subject (sub claim) of the first admin token", "admin")
    .option("--token-ttl <duration>", "lifetime of the first admin token, e.g. 24h, 7d", "24h")
    .option("--backend-name <name>", "register a first backend under this name (with --backend-command or --backend-url)")
    .option("--backend-command <command>", 'the first backend as a program spoken to over stdio, e.g. "npx -y @modelcontextprotocol/server-everything"')
    .option("--backend-url <url>", "the first backend as an HTTP server")
    .addOption(new Option("--backend-transport <kind>", "HTTP transport of --backend-url (default streamable-http)").choices(["streamable-http", "sse"]))
    .option("--backend-env <KEY=VALUE>", "environment variable for --backend-command; VALUE may use ${VAR} (repeatable)", collect, [])
    .option("--backend-header <Name: value>", "HTTP header for --backend-url; value may use ${VAR} (repeatable)", collect, [])
    .option("--backend-timeout <duration>", "the first backend's timeout (default 30s)")
    .option("--host <host>", "MCPGW_HOST to write (default 127.0.0.1)")
    .option("--port <n>", "MCPGW_PORT to write (default 8080)")
    .addHelpText(
      "after",
      `
Examples:
  mcpgw init
  mcpgw init --yes --db sqlite:mcpgw.db --backend-name everything --backend-command "npx -y @modelcontextprotocol/server-everything"
  TOKEN=$(mcpgw init --yes --db postgres://mcpgw@db:5432/mcpgw --admin-subject ops --env-file deploy/mcpgw.env)`,
    )
    .action(async (options: import("../commands/init.ts").InitFlags, command: Command) => {
      const { runInitCommand } = await import("../commands/init.ts");
      await runInitCommand(commandContext(command), options);
    });

  program
    .command("doctor")
    .description("check the set-up without changing it: settings, database, migrations, signing keys, every backend, clock; exit 1 on a problem")
    .option("--json", "print the report as JSON for scripts")
    .addHelpText(
      "after",
      `
Examples:
  mcpgw doctor
  mcpgw doctor --db postgres://mcpgw@db:5432/mcpgw --json`,
    )
    .action(async (options: { json?: boolean }, command: Command) => {
      const { runDoctorCommand } = await import("../commands/doctor.ts");
      await runDoctorCommand(command, options);
    });

  program
    .command("completion")
    .description("print a shell completion script for bash, zsh or fish (made from this command tree)")
    .addArgument(new Argument("<shell>", "the shell: bash, zsh or fish").choices(["bash", "zsh", "fish"]))
    .addHelpText(
      "after",
      `
Examples:
  source <(mcpgw completion bash)                       # bash, now; add the line to ~/.bashrc to keep it
  mcpgw completion zsh > "\${fpath[1]}/_mcpgw"           # zsh, then restart the shell
  mcpgw completion fish > ~/.config/fish/completions/mcpgw.fish`,
    )
    .action(async (shell: string, _options: unknown, command: Command) => {
      const { runCompletion } = await import("../commands/completion.ts");
      runCompletion(command, shell);
    });
}
