import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { BackendInput } from "../../src/backends/backend-input.ts";
import { assertBackendName } from "../../src/backends/backend-spec.ts";
import { formatDuration, parseDuration } from "../../src/config/duration.ts";
import { processEnvironment } from "../../src/config/env.ts";
import { McpgwError, UsageError } from "../../src/errors.ts";
import { FULL_ACCESS_PATTERNS, describeRules } from "../../src/setup/admin-access.ts";
import { type InitResult, runInit } from "../../src/setup/init-flow.ts";
import { type SetupDecisions, scriptedDecisions } from "../../src/setup/setup-decisions.ts";
import { parseDatabaseUrl } from "../../src/store/database-url.ts";
import { assertRoleName, assertSubject } from "../../src/policy/role-repository.ts";
import type { CommandContext } from "../context.ts";
import { VERSION } from "../version.ts";
import { MAX_ISSUED_TOKEN_LIFETIME_MS } from "../../src/config/auth-settings.ts";

export interface InitFlags {
  yes?: boolean;
  force?: boolean;
  envFile: string;
  adminRole: string;
  adminSubject: string;
  tokenTtl: string;
  backendName?: string;
  backendCommand?: string;
  backendUrl?: string;
  backendTransport?: string;
  backendEnv: string[];
  backendHeader: string[];
  backendTimeout?: string;
}

const MAX_TTL_MS = MAX_ISSUED_TOKEN_LIFETIME_MS;

/**
 * `mcpgw init`: the set-up wizard on a terminal, or the same steps from flags with --yes. The
 * token goes to stdout alone with --yes (TOKEN=$(mcpgw init --yes …)); progress goes to stderr.
 */
export async function runInitCommand(context: CommandContext, flags: InitFlags): Promise<void> {
  const interactive = !flags.yes;
  if (interactive && !process.stdin.isTTY) {
    throw new UsageError(
      "mcpgw init asks questions, and stdin is not a terminal",
      'pass --yes to set up from flags and defaults, e.g. mcpgw init --yes --db sqlite:mcpgw.db --backend-name NAME --backend-command "CMD ARG..."',
    );
  }
  const tokenTtlMs = parseTtl(flags.tokenTtl);
  assertRoleName(flags.adminRole);
  assertSubject(flags.adminSubject);
  const backend = backendFromFlags(flags);
  const say = (line: string) => (interactive ? process.stdout : process.stderr).write(`${line}\n`);
  const decisions = interactive ? await wizardDecisions() : scriptedDecisions({ force: flags.force === true });
  if (interactive) say("mcpgw init: a database, a signing key, an admin role and token, a first backend, and a .env file for the gateway.\n");

  let result: InitResult;
  try {
    result = await runInit(
      {
        envFile: flags.envFile,
        cwd: process.cwd(),
        databaseUrl: context.settings.databaseUrl,
        adminRole: flags.adminRole,
        adminSubject: flags.adminSubject,
        tokenTtlMs,
        ...(backend && { backend }),
        host: context.settings.host,
        port: context.settings.port,
        auth: context.settings.auth,
        environment: processEnvironment(),
        logger: context.adminLogger(),
        clientVersion: VERSION,
        ...(context.settings.migrationsDir !== undefined && { migrationsDir: context.settings.migrationsDir }),
      },
      flags.force && interactive ? { ...decisions, envFileExists: async () => ({ overwrite: true }) } : decisions,
      say,
    );
  } catch (err) {
    // Ctrl-C at a question: every question comes before anything is saved (migrations aside).
    if (err instanceof Error && err.name === "ExitPromptError")
      throw new McpgwError("mcpgw init was cancelled", "nothing was saved (the database may have been migrated); run mcpgw init again when ready");
    throw err;
  }
  printSummary(result, say, tokenTtlMs);
  if (interactive) say(`\nAdmin token for "${result.subject}" (shown once; keep it somewhere safe):\n\n${result.token}\n`);
  else process.stdout.write(`${result.token}\n`);
  say(nextSteps(result));
}

function printSummary(result: InitResult, say: (line: string) => void, ttlMs: number): void {
  const migrations = result.migrationsApplied.length > 0 ? `${result.migrationsApplied.length} migrations applied` : "migrations current";
  const role = { created: "created", reused: "already there, reused", replaced: "rules replaced, grants kept" }[result.role.outcome];
  say("\nmcpgw is set up:");
  say(`  settings   ${result.envFile}`);
  say(`  database   ${result.databaseLocation} (${migrations})`);
  say(`  signing    key ${result.signingKey.kid} ${result.signingKey.created ? "created" : "already active, kept"}`);
  say(`  role       ${result.role.name} (allow ${FULL_ACCESS_PATTERNS.join(" ")}): ${role}; granted to "${result.subject}"`);
  say(`  token      jti ${result.tokenRecord.jti}, valid ${formatDuration(ttlMs)} until ${new Date(result.tokenRecord.expiresAt).toISOString()}`);
  if (result.backend) {
    const { spec, probe, failure } = result.backend;
    const state = probe ? `${probe.tools.length} tools` : `registered although its test failed: ${failure ?? "?"}`;
    say(`  backend    ${spec.name} (${spec.transport})${result.backend.replaced ? ", replacing the previous one" : ""}: ${state}`);
  } else {
    say("  backend    none yet");
  }
}

function nextSteps(result: InitResult): string {
  const here = resolve(result.envFile) === resolve(".env");
  return [
    "\nNext:",
    `  mcpgw serve      ${here ? "start the gateway here (it reads .env from its working directory)" : `start the gateway with ${result.envFile}'s variables in its environment`}`,
    "  mcpgw doctor     check the set-up: database, migrations, keys, backends",
    ...(result.backend ? [] : ['  mcpgw backend add NAME --command "CMD ARG..."   register an MCP server']),
    `  revoke this token with: mcpgw token revoke ${result.tokenRecord.jti}`,
  ].join("\n");
}

/** The backend of --backend-* flags, or undefined when none is given. */
function backendFromFlags(flags: InitFlags): BackendInput | undefined {
  const given =
    flags.backendCommand !== undefined ||
    flags.backendUrl !== undefined ||
    flags.backendTransport !== undefined ||
    flags.backendTimeout !== undefined ||
    flags.backendEnv.length > 0 ||
    flags.backendHeader.length > 0;
  if (flags.backendName === undefined) {
    if (given)
      throw new UsageError(
        "--backend-* flags need --backend-name",
        'name the backend, e.g. --backend-name everything --backend-command "npx -y @modelcontextprotocol/server-everything"',
      );
    return undefined;
  }
  return {
    name: flags.backendName,
    ...(flags.backendCommand !== undefined && { command: flags.backendCommand }),
    ...(flags.backendUrl !== undefined && { url: flags.backendUrl }),
    ...(flags.backendTransport !== undefined && { transport: flags.backendTransport }),
    ...(flags.backendTimeout !== undefined && { timeout: flags.backendTimeout }),
    env: flags.backendEnv,
    header: flags.backendHeader,
  };
}

function parseTtl(text: string): number {
  const ms = parseDuration(text, "--token-ttl");
  if (ms < 60_000 || ms > MAX_TTL_MS)
    throw new UsageError(
      `--token-ttl "${text}" is out of range`,
      `use 1m to ${formatDuration(MAX_TTL_MS)}; a short life (e.g. 24h) is safer: issue more with mcpgw token issue`,
    );
  return ms;
}

/** The wizard: each decision is a question on the terminal (@inquirer/prompts, loaded only here). */
async function wizardDecisions(): Promise<SetupDecisions> {
  const { confirm, input, select } = await import("@inquirer/prompts");
  const show = (failure: McpgwError) => process.stdout.write(`\n✗ ${failure.message}\n${failure.hint ? `  → ${failure.hint}\n` : ""}\n`);
  const validation = (check: (value: string) => void) => (value: string) => {
    try {
      check(value.trim());
      return true;
    } catch (err) {
      return err instanceof McpgwError ? `${err.message}: ${err.hint ?? ""}` : String(err);
    }
  };
  return {
    async envFileExists(path) {
      if (await confirm({ message: `${path} already exists. Overwrite it? (its other variables are kept)`, default: false })) return { overwrite: true };
      const other = await input({
        message: "Write the settings to which file instead?",
        validate: (value) => (value.trim() === "" ? "give a file name" : existsSync(resolve(value.trim())) ? `${value.trim()} exists too` : true),
      });
      return { path: other.trim() };
    },
    async databaseUrl(suggested, failure) {
      if (failure) show(failure);
      const current = parseDatabaseUrl(suggested);
      const kind = await select({
        message: "Database",
        choices: [
          { name: "SQLite: a file in this folder (one gateway)", value: "sqlite" },
          { name: "PostgreSQL: a server that several gateway replicas share", value: "postgres" },
        ],
        default: current.kind,
      });
      if (kind === "sqlite") {
        const path = await input({
          message: "SQLite file",
          default: current.kind === "sqlite" ? current.path : "mcpgw.db",
          validate: (value) => value.trim() !== "" || "give a file name",
        });
        return `sqlite:${path.trim()}`;
      }
      const url = await input({
        message: "PostgreSQL URL (postgres://USER:PASSWORD@HOST:5432/DATABASE[?schema=NAME])",
        ...(current.kind === "postgres" && { default: suggested }),
        validate: validation((value) => {
          if (!/^postgres(ql)?:\/\//.test(value)) throw new UsageError("not a postgres:// URL", "e.g. postgres://mcpgw:secret@db.internal:5432/mcpgw");
          parseDatabaseUrl(value);
        }),
      });
      return url.trim();
    },
    async adminSubject(suggested) {
      return (await input({ message: "Subject of the first admin token (who it speaks for)", default: suggested, validate: validation(assertSubject) })).trim();
    },
    async roleExists(role) {
      const choice = await select({
        message: `Role "${role.name}" already exists (${describeRules(role)}).`,
        choices: [
          { name: "Create the admin role under another name", value: "rename" },
          { name: `Replace its rules with full access (its ${role.subjects.length} grants are kept)`, value: "replace" },
        ],
      });
      if (choice === "replace") return { replace: true };
      const name = await input({
        message: "Admin role name",
        validate: validation((value) => {
          assertRoleName(value);
          if (value === role.name) throw new UsageError(`"${value}" is the existing role`, "choose another name");
        }),
      });
      return { name: name.trim() };
    },
    async backend(suggested, failure) {
      if (failure) show(failure);
      if (!(await confirm({ message: "Register a first backend (an MCP server behind the gateway) now?", default: true }))) return undefined;
      const name = (
        await input({
          message: "Backend name (its tools appear as NAME__TOOL)",
          ...(suggested && { default: suggested.name }),
          validate: validation(assertBackendName),
        })
      ).trim();
      const transport = await select<string>({
        message: "How does mcpgw reach it?",
        choices: [
          { name: "It is a program mcpgw starts and speaks to over stdio", value: "stdio" },
          { name: "It is an HTTP server (Streamable HTTP)", value: "streamable-http" },
          { name: "It is an HTTP server speaking SSE (older servers)", value: "sse" },
        ],
        default: suggested?.url !== undefined ? (suggested.transport ?? "streamable-http") : "stdio",
      });
      const timeout = suggested?.timeout !== undefined ? { timeout: suggested.timeout } : {};
      if (transport === "stdio") {
        const command = await input({
          message: "Command (program and arguments, quoted as in a shell)",
          ...(suggested?.command && { default: suggested.command }),
          validate: (value) => value.trim() !== "" || "give the program to run",
        });
        return { name, command: command.trim(), env: suggested?.env ?? [], ...timeout };
      }
      const url = await input({
        message: "URL (e.g. https://mcp.example.com/mcp)",
        ...(suggested?.url && { default: suggested.url }),
        validate: (value) => /^https?:\/\/\S+$/.test(value.trim()) || "give an http(s) URL",
      });
      return { name, url: url.trim(), transport, header: suggested?.header ?? [], ...timeout };
    },
    async backendExists(existing) {
      return confirm({
        message: `A different backend "${existing.name}" (${existing.url ?? existing.command?.join(" ")}) is registered. Replace it?`,
        default: false,
      });
    },
    async backendFailed(error) {
      show(error);
      return select({
        message: "The backend did not pass its test.",
        choices: [
          { name: "Change its settings", value: "change" as const },
          { name: "Register it anyway (check later with mcpgw backend test NAME)", value: "keep" as const },
          { name: "Go on without a backend", value: "skip" as const },
        ],
      });
    },
  };
}
