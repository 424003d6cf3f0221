import { Argument, Command, Option } from "commander";
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
    .addHelpText("after", "\nExamples:\n  mcpgw init                  # set up a database, an admin token and a first backend here\n  mcpgw serve                 # run the gateway (reads .env from the working directory)\n  mcpgw doctor                # check the set-up and say how to fix what is wrong\n  mcpgw <command> --help      # every command has examples")
    .version(VERSION, "-V, --version")
    .option("--db <url>", "database: sqlite:PATH or postgres://… (env MCPGW_DATABASE_URL; default sqlite:mcpgw.db)")
    .addOption(new Option("--log-level <level>", "log level (env MCPGW_LOG_LEVEL); debug also prints stack traces").choices(LOG_LEVELS))
    .showHelpAfterError("(run mcpgw --help for usage)")
    .showSuggestionAfterError(true)
    .exitOverride();

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

  addRoleCommands(program);
  addLimitCommands(program);

  addTokenCommands(program);
  addKeyCommands(program);
  addAuditCommands(program);
  addJobsCommands(program);

  program
    .command("apply")
    .description("make roles, grants, backends and limits match a YAML document, in one transaction (sections the document has are matched exactly; absent ones are left alone)")
    .requiredOption("-f, --file <file>", "the YAML document (- reads stdin); see docs/declarative.md")
    .option("--dry-run", "print what would change, change nothing")
    .option("--json", "print the changes as JSON for scripts")
    .addHelpText("after", "\nExamples:\n  mcpgw apply -f mcpgw.yaml --dry-run\n  mcpgw apply -f mcpgw.yaml\n  mcpgw export > mcpgw.yaml   # a complete document to start from")
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

/** `mcpgw backend add|list|show|remove|test`. */
function addBackendCommands(program: Command): void {
  const backend = program.command("backend").description("register, inspect and test the MCP servers behind the gateway")
    .addHelpText("after", "\nExamples:\n  mcpgw backend add everything --command \"npx -y @modelcontextprotocol/server-everything\"\n  mcpgw backend test everything");
  const load = () => import("./commands/backend.ts");

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
    .option("--idempotent-tool <glob>", "tool (or glob) safe to run twice: its jobs are retried after a gateway dies mid-call (repeatable)", collect, [])
    .addHelpText("after", '\nSecrets: write --header "Authorization: Bearer ${API_KEY}" (single-quoted in a shell) so the secret stays in\nthe gateway\'s environment; literal values are stored in the database as given.')
    .action(async (name: string, options: { url?: string; transport?: string; command?: string; env: string[]; header: string[]; timeout?: string; maxConcurrency?: string; maxQueue?: string; maxBody?: string; maxResponse?: string; idempotentTool: string[] }, command: Command) => {
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
    .description("connect to a backend as an MCP client: initialise, list its tools and report what it is")
    .addHelpText("after", "\nExample:\n  mcpgw backend test github --json")
    .argument("<name>", "backend name")
    .option("--json", "print JSON for scripts")
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      const { runBackendTest } = await load();
      await runBackendTest(commandContext(command), name, options);
    });
}

/** `mcpgw role create|grant|revoke|list|show|delete`. */
function addRoleCommands(program: Command): void {
  const role = program.command("role").description("roles: which tools, resources and prompts a subject may use (deny wins, default deny)")
    .addHelpText("after", "\nExamples:\n  mcpgw role create dev --allow 'github/*' --deny 'github/delete_*'\n  mcpgw role grant dev alice@example.com");
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
    .addHelpText("after", "\nExample:\n  mcpgw role grant dev alice@example.com")
    .argument("<role>", "role name")
    .argument("<subject>", "subject")
    .action(async (name: string, subject: string, _options: unknown, command: Command) => {
      const { runRoleGrant } = await load();
      await runRoleGrant(commandContext(command), name, subject);
    });

  role
    .command("revoke")
    .description("take a granted role back from a subject")
    .addHelpText("after", "\nExample:\n  mcpgw role revoke dev alice@example.com")
    .argument("<role>", "role name")
    .argument("<subject>", "subject")
    .action(async (name: string, subject: string, _options: unknown, command: Command) => {
      const { runRoleRevoke } = await load();
      await runRoleRevoke(commandContext(command), name, subject);
    });

  role
    .command("list")
    .description("list roles with their rules and subjects")
    .addHelpText("after", "\nExample:\n  mcpgw role list --json")
    .option("--json", "print JSON for scripts")
    .action(async (options: { json?: boolean }, command: Command) => {
      const { runRoleList } = await load();
      await runRoleList(commandContext(command), options);
    });

  role
    .command("show")
    .description("show one role")
    .addHelpText("after", "\nExample:\n  mcpgw role show dev")
    .argument("<role>", "role name")
    .option("--json", "print JSON for scripts")
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      const { runRoleShow } = await load();
      await runRoleShow(commandContext(command), name, options);
    });

  role
    .command("delete")
    .description("delete a role, its rules and its grants")
    .addHelpText("after", "\nExample:\n  mcpgw role delete dev")
    .argument("<role>", "role name")
    .action(async (name: string, _options: unknown, command: Command) => {
      const { runRoleDelete } = await load();
      await runRoleDelete(commandContext(command), name);
    });
}

/** `mcpgw token issue|list|revoke`. */
function addTokenCommands(program: Command): void {
  const token = program.command("token").description("bearer tokens the gateway issues: mint, list, revoke")
    .addHelpText("after", "\nExamples:\n  TOKEN=$(mcpgw token issue --sub alice --role dev --ttl 1h)\n  mcpgw token list");
  const load = () => import("./commands/token.ts");

  token
    .command("issue")
    .description("mint a signed JWT for a subject and print it (stdout: the token alone, so TOKEN=$(mcpgw token issue …) works)")
    .addHelpText("after", "\nExamples:\n  TOKEN=$(mcpgw token issue --sub alice --role dev --ttl 1h)\n  mcpgw token issue --sub ci-bot --role deployer --ttl 7d --description \"CI pipeline\" --json")
    .requiredOption("--sub <subject>", "the subject: who the token speaks for (role grants and audit use it)")
    .option("--role <role>", "a role carried in the token (repeatable)", collect, [])
    .option("--ttl <duration>", "lifetime, e.g. 15m, 1h, 30d (default 1h, at most 366d)")
    .option("--description <text>", "what the token is for (shown by token list)")
    .option("--json", "print the token and its claims as JSON")
    .action(async (options: { sub: string; role: string[]; ttl?: string; description?: string; json?: boolean }, command: Command) => {
      const { runTokenIssue } = await load();
      await runTokenIssue(commandContext(command), options);
    });

  token
    .command("list")
    .description("list issued tokens: subject, roles, expiry, revoked (never the tokens themselves)")
    .addHelpText("after", "\nExample:\n  mcpgw token list --json")
    .option("--json", "print JSON for scripts")
    .action(async (options: { json?: boolean }, command: Command) => {
      const { runTokenList } = await load();
      await runTokenList(commandContext(command), options);
    });

  token
    .command("revoke")
    .description("revoke a token by its jti; running gateways refuse it within a second")
    .addHelpText("after", "\nExample:\n  mcpgw token revoke 9f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f")
    .argument("<jti>", "the token's id (the JTI column of token list)")
    .action(async (jti: string, _options: unknown, command: Command) => {
      const { runTokenRevoke } = await load();
      await runTokenRevoke(commandContext(command), jti);
    });
}

/** `mcpgw key rotate|list|retire`. */
function addKeyCommands(program: Command): void {
  const key = program.command("key").description("the gateway's token signing keys (public halves at /.well-known/jwks.json)")
    .addHelpText("after", "\nExamples:\n  mcpgw key rotate\n  mcpgw key list");
  const load = () => import("./commands/key.ts");

  key
    .command("rotate")
    .description("create a new active signing key; older keys keep verifying their tokens until retired")
    .addHelpText("after", "\nExample:\n  mcpgw key rotate --json")
    .option("--json", "print the new key (public half) as JSON")
    .action(async (options: { json?: boolean }, command: Command) => {
      const { runKeyRotate } = await load();
      await runKeyRotate(commandContext(command), options);
    });

  key
    .command("list")
    .description("list signing keys: kid, algorithm, created, active or retired (never private material)")
    .addHelpText("after", "\nExample:\n  mcpgw key list --json")
    .option("--json", "print JSON for scripts")
    .action(async (options: { json?: boolean }, command: Command) => {
      const { runKeyList } = await load();
      await runKeyList(commandContext(command), options);
    });

  key
    .command("retire")
    .description("retire a signing key: tokens it signed are refused from then on (within a second)")
    .addHelpText("after", "\nExample:\n  mcpgw key retire wSkJxAFSHhiHy4PKo38bPVPVVZ-VgDxGEVNjT4PL6D4")
    .argument("<kid>", "the key's id (the KID column of key list)")
    .addHelpText("after", "\nA kid may start with '-' (it is a base64url thumbprint): put it after --, e.g. mcpgw key retire -- -AbC…")
    .action(async (kid: string, _options: unknown, command: Command) => {
      const { runKeyRetire } = await load();
      await runKeyRetire(commandContext(command), kid);
    });
}

/** `mcpgw limit set|list|remove`. */
function addLimitCommands(program: Command): void {
  const limit = program.command("limit").description("rate limits and quotas per subject, role or everyone")
    .addHelpText("after", "\nExamples:\n  mcpgw limit set --sub alice --rate 60/min\n  mcpgw limit list");
  const load = () => import("./commands/limit.ts");

  limit
    .command("set")
    .description("add a rate limit (all matching rules apply; the most restrictive refuses)")
    .option("--sub <subject>", "limit one subject")
    .option("--role <role>", "limit each subject that has this role")
    .option("--global", "one budget shared by all callers")
    .option("--tool <pattern>", "count only calls of tools matching BACKEND/TOOL (globs allowed); lists are never counted")
    .option("--rate <N/unit>", "calls per s, min, h or day, e.g. 100/min (per h and per day are quotas that survive restarts)")
    .option("--burst <n>", "calls allowed at once (default: N)")
    .addHelpText("after", "\nExamples:\n  mcpgw limit set --sub alice --rate 60/min\n  mcpgw limit set --role intern --tool 'github/*' --rate 500/day\n  mcpgw limit set --global --rate 200/s --burst 50")
    .action(async (options: { sub?: string; role?: string; global?: boolean; tool?: string; rate?: string; burst?: string }, command: Command) => {
      const { runLimitSet } = await load();
      await runLimitSet(commandContext(command), options);
    });

  limit
    .command("list")
    .description("list the rate-limit rules")
    .addHelpText("after", "\nExample:\n  mcpgw limit list --json")
    .option("--json", "print JSON for scripts")
    .action(async (options: { json?: boolean }, command: Command) => {
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

/** `mcpgw audit tail|verify|export|prune`. */
function addAuditCommands(program: Command): void {
  const audit = program.command("audit").description("read, follow, verify, export and prune the audit log")
    .addHelpText("after", "\nExamples:\n  mcpgw audit tail -f --sub alice\n  mcpgw audit verify");
  const load = () => import("./commands/audit.ts");
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
    .action(async (options: { follow?: boolean; lines?: string; sub?: string; tool?: string; status?: string; since?: string; json?: boolean }, command: Command) => {
      const { runAuditTail } = await load();
      await runAuditTail(commandContext(command), options);
    });

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
    .addHelpText("after", "\nExample:\n  mcpgw audit export --format csv --since 30d --out audit.csv")
    .addOption(new Option("--format <format>", "jsonl or csv").choices(["jsonl", "csv"]).default("jsonl"))
    .option("--since <when>", "only calls since a duration ago (15m, 24h) or a date (2025-01-31)")
    .option("--out <file>", "write to this file instead of stdout")
    .action(async (options: { format: "jsonl" | "csv"; since?: string; out?: string }, command: Command) => {
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

/** `mcpgw init`, `mcpgw doctor`, `mcpgw completion`: setting up, checking, and shell completion. */
function addOperatorCommands(program: Command): void {
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
    .addHelpText("after", `
Examples:
  mcpgw init
  mcpgw init --yes --db sqlite:mcpgw.db --backend-name everything --backend-command "npx -y @modelcontextprotocol/server-everything"
  TOKEN=$(mcpgw init --yes --db postgres://mcpgw@db:5432/mcpgw --admin-subject ops --env-file deploy/mcpgw.env)`)
    .action(async (options: import("./commands/init.ts").InitFlags, command: Command) => {
      const { runInitCommand } = await import("./commands/init.ts");
      await runInitCommand(commandContext(command), options);
    });

  program
    .command("doctor")
    .description("check the set-up without changing it: settings, database, migrations, signing keys, every backend, clock; exit 1 on a problem")
    .option("--json", "print the report as JSON for scripts")
    .addHelpText("after", `
Examples:
  mcpgw doctor
  mcpgw doctor --db postgres://mcpgw@db:5432/mcpgw --json`)
    .action(async (options: { json?: boolean }, command: Command) => {
      const { runDoctorCommand } = await import("./commands/doctor.ts");
      await runDoctorCommand(command, options);
    });

  program
    .command("completion")
    .description("print a shell completion script for bash, zsh or fish (made from this command tree)")
    .addArgument(new Argument("<shell>", "the shell: bash, zsh or fish").choices(["bash", "zsh", "fish"]))
    .addHelpText("after", `
Examples:
  source <(mcpgw completion bash)                       # bash, now; add the line to ~/.bashrc to keep it
  mcpgw completion zsh > "\${fpath[1]}/_mcpgw"           # zsh, then restart the shell
  mcpgw completion fish > ~/.config/fish/completions/mcpgw.fish`)
    .action(async (shell: string, _options: unknown, command: Command) => {
      const { runCompletion } = await import("./commands/completion.ts");
      runCompletion(command, shell);
    });
}

/** `mcpgw jobs list|show|cancel`: the asynchronous tool calls (REST /v1/jobs and MCP tasks) in the shared queue. */
function addJobsCommands(program: Command): void {
  const jobs = program.command("jobs").description("asynchronous tool calls (REST /v1/jobs and MCP tasks): list, inspect, cancel")
    .addHelpText("after", "\nExamples:\n  mcpgw jobs list --status working\n  mcpgw jobs cancel 3f2a9c1e-8d4b-4c55-9a0e-2b7f6d1c0a42");
  const load = () => import("./commands/jobs.ts");

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
    .addHelpText("after", "\nExample:\n  mcpgw jobs cancel 3f2a9c1e-8d4b-4c55-9a0e-2b7f6d1c0a42")
    .action(async (id: string, _options: unknown, command: Command) => {
      const { runJobsCancel } = await load();
      await runJobsCancel(commandContext(command), id);
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
