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

  addBackendCommands(program);

  addRoleCommands(program);

  for (const command of subcommands(program)) command.exitOverride().showHelpAfterError(`(run ${commandPath(command)} --help for usage)`);
  return program;
}

/** `mcpgw backend add|list|show|remove|test`. */
function addBackendCommands(program: Command): void {
  const backend = program.command("backend").description("register, inspect and test the MCP servers behind the gateway");
  const load = () => import("./commands/backend.ts");

  backend
    .command("add")
    .description('register a backend: an HTTP server (--url) or a program spoken to over stdio (--command "CMD ARG...")')
    .argument("<name>", "backend name: lower-case letters, digits, - and _ (tools appear as NAME__TOOL)")
    .option("--url <url>", "http(s) URL of a Streamable HTTP or SSE server")
    .addOption(new Option("--transport <kind>", "HTTP transport of --url (default streamable-http)").choices(["streamable-http", "sse"]))
    .option("--command <command>", 'program and arguments as one quoted string, e.g. "npx -y @modelcontextprotocol/server-everything"')
    .option("--env <KEY=VALUE>", "environment variable for a --command backend; VALUE may use ${VAR} (repeatable)", collect, [])
    .option("--header <Name: value>", "HTTP header for a --url backend; value may use ${VAR} (repeatable)", collect, [])
    .option("--timeout <duration>", "time allowed to connect and for each request, e.g. 30s (default 30s, at most 1h)")
    .addHelpText("after", '\nSecrets: write --header "Authorization: Bearer ${API_KEY}" (single-quoted in a shell) so the secret stays in\nthe gateway\'s environment; literal values are stored in the database as given.')
    .action(async (name: string, options: { url?: string; transport?: string; command?: string; env: string[]; header: string[]; timeout?: string }, command: Command) => {
      const { runBackendAdd } = await load();
      await runBackendAdd(commandContext(command), name, options);
    });

  backend
    .command("list")
    .description("list the backends (header and env values redacted)")
    .option("--json", "print JSON for scripts")
    .action(async (options: { json?: boolean }, command: Command) => {
      const { runBackendList } = await load();
      await runBackendList(commandContext(command), options);
    });

  backend
    .command("show")
    .description("show one backend (header and env values redacted)")
    .argument("<name>", "backend name")
    .option("--json", "print JSON for scripts")
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      const { runBackendShow } = await load();
      await runBackendShow(commandContext(command), name, options);
    });

  backend
    .command("remove")
    .description("remove a backend")
    .argument("<name>", "backend name")
    .action(async (name: string, _options: unknown, command: Command) => {
      const { runBackendRemove } = await load();
      await runBackendRemove(commandContext(command), name);
    });

  backend
    .command("test")
    .description("connect to a backend as an MCP client: initialise, list its tools and report what it is")
    .argument("<name>", "backend name")
    .option("--json", "print JSON for scripts")
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      const { runBackendTest } = await load();
      await runBackendTest(commandContext(command), name, options);
    });
}

/** `mcpgw role create|grant|revoke|list|show|delete`. */
function addRoleCommands(program: Command): void {
  const role = program.command("role").description("roles: which tools, resources and prompts a subject may use (deny wins, default deny)");
  const load = () => import("./commands/role.ts");

  role
    .command("create")
    .description("create a role from allow and deny patterns")
    .argument("<role>", "role name (letters, digits, _ . : -)")
    .option("--allow <pattern>", 'allow a pattern: BACKEND/TOOL glob, resource:BACKEND/URI-GLOB, prompt:BACKEND/NAME-GLOB, method:BACKEND/METHOD; conditions like [path^="/srv/"] (repeatable)', collect, [])
    .option("--deny <pattern>", "deny a pattern; a deny always wins over an allow (repeatable)", collect, [])
    .option("--description <text>", "what the role is for")
    .addHelpText("after", `
Example:
  mcpgw role create analyst --allow 'github/get_*' --allow 'fs/read_file[path^="/srv/data/"]' --deny 'github/delete_*'`)
    .action(async (name: string, options: { allow: string[]; deny: string[]; description?: string }, command: Command) => {
      const { runRoleCreate } = await load();
      await runRoleCreate(commandContext(command), name, options);
    });

  role
    .command("grant")
    .description("grant a role to a subject (the sub claim of its tokens)")
    .argument("<role>", "role name")
    .argument("<subject>", "subject")
    .action(async (name: string, subject: string, _options: unknown, command: Command) => {
      const { runRoleGrant } = await load();
      await runRoleGrant(commandContext(command), name, subject);
    });

  role
    .command("revoke")
    .description("take a granted role back from a subject")
    .argument("<role>", "role name")
    .argument("<subject>", "subject")
    .action(async (name: string, subject: string, _options: unknown, command: Command) => {
      const { runRoleRevoke } = await load();
      await runRoleRevoke(commandContext(command), name, subject);
    });

  role
    .command("list")
    .description("list roles with their rules and subjects")
    .option("--json", "print JSON for scripts")
    .action(async (options: { json?: boolean }, command: Command) => {
      const { runRoleList } = await load();
      await runRoleList(commandContext(command), options);
    });

  role
    .command("show")
    .description("show one role")
    .argument("<role>", "role name")
    .option("--json", "print JSON for scripts")
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      const { runRoleShow } = await load();
      await runRoleShow(commandContext(command), name, options);
    });

  role
    .command("delete")
    .description("delete a role, its rules and its grants")
    .argument("<role>", "role name")
    .action(async (name: string, _options: unknown, command: Command) => {
      const { runRoleDelete } = await load();
      await runRoleDelete(commandContext(command), name);
    });
}

/** Commander's collect pattern for repeatable flags. */
function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Every command below `command`, at any depth. */
function subcommands(command: Command): Command[] {
  return command.commands.flatMap((child) => [child, ...subcommands(child)]);
}

/** "mcpgw backend add": the words that invoke a command. */
function commandPath(command: Command): string {
  return command.parent ? `${commandPath(command.parent)} ${command.name()}` : command.name();
}
