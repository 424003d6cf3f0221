import { type Command, Option } from "commander";
import { commandContext } from "../context.ts";
import { collect } from "./collect.ts";

/** `mcpgw backend add|list|show|remove|test`. */
export function addBackendCommands(program: Command): void {
  const backend = program.command("backend").description("register, inspect and test the MCP servers behind the gateway")
    .addHelpText("after", "\nExamples:\n  mcpgw backend add everything --command \"npx -y @modelcontextprotocol/server-everything\"\n  mcpgw backend test everything");
  const load = () => import("../commands/backend.ts");

  backend
    .command("add")
    .description('register a backend: an HTTP server (--url) or a program spoken to over stdio (--command "CMD ARG...")')
    .addHelpText("after", "\nExamples:\n  mcpgw backend add files --command \"npx -y @modelcontextprotocol/server-filesystem /srv/data\" --timeout 60s\n  mcpgw backend add github --url https://api.githubcopilot.com/mcp/ --header 'Authorization: Bearer ${GITHUB_TOKEN}'")
    .argument("<name>", "backend name: lower-case letters, digits, - and _ (tools appear as NAME__TOOL)")
    .option("--url <url>", "http(s) URL of a Streamable HTTP or SSE server")
    .addOption(new Option("--transport <kind>", "HTTP transport of --url (default streamable-http)").choices(["streamable-http", "sse"]))
    .option("--command <command>", 'program and arguments as one quoted string, e.g. "npx -y @modelcontextprotocol/server-everything"')
    .option("--env <KEY=VALUE>", "environment variable for a --command backend; VALUE may use ${VAR} (repeatable)", collect, [])
    .option("--header <Name: value>", "HTTP header for a --url backend; value may use ${VAR} (repeatable)", collect, [])
    .option("--timeout <duration>", "time allowed to connect and for each request, e.g. 30s (default 30s, at most 1h)")
    .option("--max-concurrency <n>", "calls in flight to this backend at once, from all sessions (default: no cap)")
    .option("--max-queue <n>", "calls that may wait for a slot before callers get a busy error (default 100; needs --max-concurrency)")
    .option("--max-body <size>", "largest request body accepted on /mcp/NAME, e.g. 4MiB (default MCPGW_MAX_BODY_BYTES)")
    .option("--max-response <size>", "largest single message accepted from the backend, e.g. 8MiB (default 16MiB)")
    .option("--max-processes <n>", "a --command backend's child processes at once, shared and per-session ones together, at least 2 (default MCPGW_MAX_PROCESSES_PER_BACKEND, 16)")
    .option("--idempotent-tool <glob>", "tool (or glob) safe to run twice: its jobs are retried after a gateway dies mid-call (repeatable)", collect, [])
    .addHelpText("after", '\nSecrets: write --header "Authorization: Bearer ${API_KEY}" (single-quoted in a shell) so the secret stays in\nthe gateway\'s environment; literal values are stored in the database as given.')
    .action(async (name: string, options: { url?: string; transport?: string; command?: string; env: string[]; header: string[]; timeout?: string; maxConcurrency?: string; maxQueue?: string; maxBody?: string; maxResponse?: string; maxProcesses?: string; idempotentTool: string[] }, command: Command) => {
      const { runBackendAdd } = await load();
      await runBackendAdd(commandContext(command), name, options);
    });

  backend
    .command("list")
    .description("list the backends (header and env values redacted)")
    .addHelpText("after", "\nExample:\n  mcpgw backend list --json")
    .option("--json", "print JSON for scripts")
    .action(async (options: { json?: boolean }, command: Command) => {
      const { runBackendList } = await load();
      await runBackendList(commandContext(command), options);
    });

  backend
    .command("show")
    .description("show one backend (header and env values redacted)")
    .addHelpText("after", "\nExample:\n  mcpgw backend show github")
    .argument("<name>", "backend name")
    .option("--json", "print JSON for scripts")
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      const { runBackendShow } = await load();
      await runBackendShow(commandContext(command), name, options);
    });

  backend
    .command("remove")
    .description("remove a backend")
    .addHelpText("after", "\nExample:\n  mcpgw backend remove github")
    .argument("<name>", "backend name")
    .action(async (name: string, _options: unknown, command: Command) => {
      const { runBackendRemove } = await load();
      await runBackendRemove(commandContext(command), name);
    });

  backend
    .command("test")
    .description("connect to a backend as the gateway does: detect its protocol era, initialise or discover, list its tools and report what it is")
    .addHelpText("after", "\nExample:\n  mcpgw backend test github --json")
    .argument("<name>", "backend name")
    .option("--json", "print JSON for scripts")
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      const { runBackendTest } = await load();
      await runBackendTest(commandContext(command), name, options);
    });
}
