import { type Command, Option } from "commander";
import { commandContext } from "../context.ts";
import type { BackendInput } from "../../src/backends/backend-input.ts";
import type { PinFlags } from "../commands/backend-pins.ts";
import { collect } from "./collect.ts";
import { UNSETTABLE_SETTINGS } from "../../src/backends/unsettable-settings.ts";
import { DRIFT_MODES, PIN_MODES, SUSPICIOUS_MODES } from "../../src/pinning/pin-record.ts";
import { AUTH_MODES } from "../../src/credentials/backend-auth.ts";

/** The values of the flags add and update share: a backend as the operator writes it, lists always present. */
type BackendFlagValues = Omit<BackendInput, "name"> & Required<Pick<BackendInput, "env" | "header" | "idempotentTool">> & PinFlags;

/** Every flag that sets a backend: `backend add` and `backend update` take the same ones. */
function backendFlags(command: Command): Command {
  return command
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
    .option(
      "--max-processes <n>",
      "a --command backend's child processes at once, shared and per-session ones together, at least 2 (default MCPGW_MAX_PROCESSES_PER_BACKEND, 16)",
    )
    .option("--idempotent-tool <glob>", "tool (or glob) safe to run twice: its jobs are retried after a gateway dies mid-call (repeatable)", collect, [])
    .addOption(
      new Option(
        "--auth <mode>",
        "who the backend sees: static (its own headers, the default), gateway-assertion (a JWT per call naming the caller), token-exchange (the caller's identity-provider token exchanged, RFC 8693) or per-subject-secret (the caller's own secret, mcpgw secret set)",
      ).choices(AUTH_MODES),
    )
    .option("--auth-header <name>", "header the per-caller credential goes in (default Authorization: Bearer …)")
    .option("--assertion-audience <aud>", "gateway-assertion: the aud claim the backend checks (default the backend's URL)")
    .option("--token-endpoint <url>", "token-exchange: the authorization server's token endpoint (https)")
    .option("--exchange-audience <aud>", "token-exchange: the audience asked for (default the backend's URL)")
    .option("--exchange-scope <scopes>", "token-exchange: the scope asked for, space-separated")
    .option("--client-id <id>", "token-exchange: the gateway's client id at the token endpoint")
    .option("--client-secret <ref>", "token-exchange: its client secret as a '${VAR}' reference to mcpgw's environment, never the value")
    .addOption(
      new Option("--pin-mode <mode>", "tool-definition pinning: tofu pins the first listing, explicit only what mcpgw backend pin pins (default tofu)").choices(
        PIN_MODES,
      ),
    )
    .addOption(
      new Option(
        "--drift-mode <mode>",
        "a definition that differs from its pin: block hides it and refuses calls, warn serves it flagged, off (default block)",
      ).choices(DRIFT_MODES),
    )
    .addOption(
      new Option(
        "--suspicious <mode>",
        "definitions with suspicious text (hidden Unicode, instructions to the model…): flag, or block until approved (default flag)",
      ).choices(SUSPICIOUS_MODES),
    );
}

/** `mcpgw backend add|update|list|show|remove|test`. */
export function addBackendCommands(program: Command): void {
  const backend = program
    .command("backend")
    .description("register, inspect and test the MCP servers behind the gateway")
    .addHelpText(
      "after",
      '\nExamples:\n  mcpgw backend add everything --command "npx -y @modelcontextprotocol/server-everything"\n  mcpgw backend test everything',
    );
  const load = () => import("../commands/backend.ts");

  backendFlags(
    backend
      .command("add")
      .description('register a backend: an HTTP server (--url) or a program spoken to over stdio (--command "CMD ARG..."), tested first')
      .addHelpText(
        "after",
        "\nExamples:\n  mcpgw backend add files --command \"npx -y @modelcontextprotocol/server-filesystem /srv/data\" --timeout 60s\n  mcpgw backend add github --url https://api.githubcopilot.com/mcp/ --header 'Authorization: Bearer ${GITHUB_TOKEN}'\n  mcpgw backend add later --url http://10.0.0.7:3000/mcp --no-test",
      )
      .argument("<name>", "backend name: lower-case letters, digits, - and _ (tools appear as NAME__TOOL)"),
  )
    .option("--no-test", "save without connecting to it first (by default add connects, initialises and lists the tools, and saves nothing if that fails)")
    .addHelpText(
      "after",
      '\nSecrets: write --header "Authorization: Bearer ${API_KEY}" (single-quoted in a shell) so the secret stays in\nthe gateway\'s environment; literal values are stored in the database as given.',
    )
    .action(async (name: string, options: BackendFlagValues & { test: boolean }, command: Command) => {
      const { runBackendAdd } = await load();
      await runBackendAdd(commandContext(command), name, options);
    });

  backendFlags(
    backend
      .command("update")
      .description("change a registered backend in place: only the settings given change; tested first; running gateways reconnect it within a second")
      .addHelpText(
        "after",
        "\nExamples:\n  mcpgw backend update github --timeout 60s --max-concurrency 8\n  mcpgw backend update github --header 'Authorization: Bearer ${NEW_TOKEN}'\n  mcpgw backend update files --unset max-processes --no-test",
      )
      .argument("<name>", "backend name"),
  )
    .addOption(new Option("--unset <setting>", "return a setting to its default (repeatable)").choices(UNSETTABLE_SETTINGS).argParser(collect).default([]))
    .option("--no-test", "save without connecting to it first")
    .addHelpText(
      "after",
      "\nRepeatable flags (--env, --header, --idempotent-tool) replace the whole list when given. Switching between\n--url and --command drops what only the other kind has (env, --max-processes; headers, --transport).",
    )
    .action(async (name: string, options: BackendFlagValues & { test: boolean; unset: string[] }, command: Command) => {
      const { runBackendUpdate } = await load();
      await runBackendUpdate(commandContext(command), name, options);
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
    .description("remove a backend; says which role and limit patterns name it, and asks on a terminal")
    .addHelpText(
      "after",
      "\nExamples:\n  mcpgw backend remove github\n  mcpgw backend remove github --yes    # in scripts: no question (without a terminal, --yes is required)",
    )
    .argument("<name>", "backend name")
    .option("--yes", "do not ask for confirmation")
    .action(async (name: string, options: { yes?: boolean }, command: Command) => {
      const { runBackendRemove } = await load();
      await runBackendRemove(commandContext(command), name, options);
    });

  const loadPins = () => import("../commands/backend-pins.ts");
  backend
    .command("pin")
    .description("pin the tools, prompts and resource templates the backend lists now (explicit pinning; audited)")
    .addHelpText("after", '\nExample:\n  mcpgw backend add files --command "…" --pin-mode explicit && mcpgw backend pin files')
    .argument("<name>", "backend name")
    .option("--by <name>", "who pins, for the audit log (default: the operating-system user)")
    .option("--json", "print JSON for scripts")
    .action(async (name: string, options: { by?: string; json?: boolean }, command: Command) => {
      const { runBackendPin } = await loadPins();
      await runBackendPin(commandContext(command), name, options);
    });

  backend
    .command("diff")
    .description("show what the backend lists now against its pins: the description as a word diff, schemas by path, suspicious text")
    .addHelpText("after", "\nExamples:\n  mcpgw backend diff files\n  mcpgw backend diff files --tool read_file --json")
    .argument("<name>", "backend name")
    .option("--tool <name>", "only this tool (or prompt, or resource template)")
    .option("--json", "print JSON for scripts")
    .action(async (name: string, options: { tool?: string; json?: boolean }, command: Command) => {
      const { runBackendDiff } = await loadPins();
      await runBackendDiff(commandContext(command), name, options);
    });

  backend
    .command("approve")
    .description("accept what the backend lists now as the pin (all drift, or one --tool); audited with the diff and who approved")
    .addHelpText("after", "\nExamples:\n  mcpgw backend diff files --tool read_file\n  mcpgw backend approve files --tool read_file")
    .argument("<name>", "backend name")
    .option("--tool <name>", "only this tool (or prompt, or resource template)")
    .option("--by <name>", "who approves, for the audit log (default: the operating-system user)")
    .option("--json", "print JSON for scripts")
    .action(async (name: string, options: { tool?: string; by?: string; json?: boolean }, command: Command) => {
      const { runBackendApprove } = await loadPins();
      await runBackendApprove(commandContext(command), name, options);
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
