import { type AuditSettings, resolveAuditSettings } from "./audit-settings.ts";
import { type AuthSettings, resolveAuthSettings } from "./auth-settings.ts";
import { type JobSettings, resolveJobSettings } from "./job-settings.ts";
import { type SecretKeySettings, resolveSecretKeySettings } from "./secret-key-settings.ts";
import { ConfigError } from "../errors.ts";
import { JSON_BUDGET_DEFAULTS, type JsonBudget } from "../json/json-budget.ts";
import { parseDuration } from "./duration.ts";
import { type EnvSettings, locateInDotenv, variableName } from "./env.ts";

/**
 * Whether `serve` migrates the database at start. `auto`: on SQLite (one process owns the file),
 * not on PostgreSQL, where replicas share the schema and an upgrade is a deliberate step
 * (`mcpgw migrate`, a migration Job); there serve checks the schema is current and stops if not.
 */
export const MIGRATE_MODES = ["auto", "on", "off"] as const;
export type MigrateMode = (typeof MIGRATE_MODES)[number];

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Every default in one place. */
export const DEFAULTS = {
  databaseUrl: "sqlite:mcpgw.db",
  host: "127.0.0.1",
  port: 8080,
  logLevel: "info" as LogLevel,
  shutdownTimeoutMs: 10_000,
  dbPoolSize: 10,
  sessionIdleMs: 30 * 60_000,
  maxBodyBytes: 1024 * 1024,
  bodyTimeoutMs: 10_000,
  maxSessionsPerSubject: 100,
  maxProcessesPerBackend: 16,
  sessionSnapshotIntervalMs: 5_000,
  pinRecheckMs: 5 * 60_000,
  inputTtlMs: 10 * 60_000,
} as const;

/** Settings after flags (which win) and MCPGW_* variables are merged and checked. */
export interface Settings {
  databaseUrl: string;
  host: string;
  port: number;
  logLevel: LogLevel;
  shutdownTimeoutMs: number;
  dbPoolSize: number;
  migrationsDir?: string;
  /** Host names accepted in the Host header besides loopback ("*" = any). */
  allowedHosts: string[];
  /** Browser origins accepted besides loopback ones. */
  allowedOrigins: string[];
  /** An MCP session with no traffic for this long is ended and its backend resources freed. */
  sessionIdleMs: number;
  /** Largest JSON-RPC message body accepted (413 beyond). */
  maxBodyBytes: number;
  /** The whole request body must arrive within this long (408 beyond). */
  bodyTimeoutMs: number;
  /** Open MCP sessions one authenticated subject may hold at once. */
  maxSessionsPerSubject: number;
  /** Child processes one stdio backend may have at once: the shared one, list ones and sessions' own (backends/process-slots.ts). */
  maxProcessesPerBackend: number;
  /** How often the gateway publishes its sessions to the database (mcpgw sessions list). */
  sessionSnapshotIntervalMs: number;
  /** How often connected backends' definitions are listed again and compared with their pins (0: only on connect and list_changed). */
  pinRecheckMs: number;
  /** How long a 2026-07-28 client may take to answer an input_required result (its requestState's lifetime). */
  inputTtlMs: number;
  migrate: MigrateMode;
  /** What a request body may cost beyond its size: nesting depth and items (defaults in JSON_BUDGET_DEFAULTS). */
  jsonBudget: JsonBudget;
  /** Authentication: token sources, issuer and audience, the RFC 9728 document (defaults in AUTH_DEFAULTS). */
  auth: AuthSettings;
  /** The audit log: fail open or closed, redaction, size cap, instance name (defaults in AUDIT_DEFAULTS). */
  audit: AuditSettings;
  /** Asynchronous jobs (REST and MCP Tasks): workers, leases, TTLs, size caps (defaults in JOB_DEFAULTS). */
  jobs: JobSettings;
  /** The keys that encrypt per-subject secrets to backends (MCPGW_SECRET_KEY…; docs/security.md). */
  secretKeys: SecretKeySettings;
  /** Whether `serve` serves the web console at /admin (docs/console.md); the admin API is there either way. */
  console: boolean;
  /** A running gateway whose admin API the CLI works through instead of the database (--server, MCPGW_SERVER). */
  server?: RemoteServer;
}

/** The gateway `mcpgw … --server URL` talks to, and the admin token it sends. */
export interface RemoteServer {
  /** The gateway's base URL, e.g. http://127.0.0.1:8080 (no trailing slash). */
  url: string;
  token: string;
  /** Where the URL came from, for messages: the flag, or the variable. */
  source: "--server" | "MCPGW_SERVER";
}

/** Command-line values; undefined means "not given". */
export interface FlagSettings {
  db?: string;
  server?: string;
  token?: string;
  host?: string;
  port?: string;
  logLevel?: string;
}

/** Merges flags over environment over defaults, validating each value once. */
export function resolveSettings(flags: FlagSettings, env: EnvSettings): Settings {
  try {
    return mergeSettings(flags, env);
  } catch (err) {
    throw locateInDotenv(err, env);
  }
}

function mergeSettings(flags: FlagSettings, env: EnvSettings): Settings {
  return {
    databaseUrl: flags.db ?? env.databaseUrl ?? DEFAULTS.databaseUrl,
    host: flags.host ?? env.host ?? DEFAULTS.host,
    port: parsePort(flags.port ?? env.port, flags.port !== undefined ? "--port" : variableName("port")),
    logLevel: parseLogLevel(flags.logLevel ?? env.logLevel, flags.logLevel !== undefined ? "--log-level" : variableName("logLevel")),
    shutdownTimeoutMs: env.shutdownTimeout === undefined ? DEFAULTS.shutdownTimeoutMs : parseDuration(env.shutdownTimeout, variableName("shutdownTimeout")),
    dbPoolSize: parsePositiveInt(env.dbPoolSize, variableName("dbPoolSize")) ?? DEFAULTS.dbPoolSize,
    ...(env.migrationsDir !== undefined && { migrationsDir: env.migrationsDir }),
    allowedHosts: parseList(env.allowedHosts),
    allowedOrigins: parseList(env.allowedOrigins),
    sessionIdleMs: env.sessionIdleTimeout === undefined ? DEFAULTS.sessionIdleMs : parseDuration(env.sessionIdleTimeout, variableName("sessionIdleTimeout")),
    maxBodyBytes: parsePositiveInt(env.maxBodyBytes, variableName("maxBodyBytes")) ?? DEFAULTS.maxBodyBytes,
    bodyTimeoutMs: env.bodyTimeout === undefined ? DEFAULTS.bodyTimeoutMs : parseDuration(env.bodyTimeout, variableName("bodyTimeout")),
    maxSessionsPerSubject: parsePositiveInt(env.maxSessionsPerSubject, variableName("maxSessionsPerSubject")) ?? DEFAULTS.maxSessionsPerSubject,
    maxProcessesPerBackend: parseProcessCap(env.maxProcessesPerBackend),
    sessionSnapshotIntervalMs: parseSnapshotInterval(env.sessionSnapshotInterval),
    pinRecheckMs: env.pinRecheck === undefined ? DEFAULTS.pinRecheckMs : parseDuration(env.pinRecheck, variableName("pinRecheck")),
    inputTtlMs: env.inputTtl === undefined ? DEFAULTS.inputTtlMs : parseDuration(env.inputTtl, variableName("inputTtl")),
    migrate: parseMigrateMode(env.migrate),
    jsonBudget: {
      maxDepth: parsePositiveInt(env.maxJsonDepth, variableName("maxJsonDepth")) ?? JSON_BUDGET_DEFAULTS.maxDepth,
      maxItems: parsePositiveInt(env.maxJsonItems, variableName("maxJsonItems")) ?? JSON_BUDGET_DEFAULTS.maxItems,
    },
    auth: resolveAuthSettings(env),
    audit: resolveAuditSettings(env),
    jobs: resolveJobSettings(env),
    secretKeys: resolveSecretKeySettings(env),
    console: parseOnOff(env.console, variableName("console"), true),
    ...withServer(resolveServer(flags, env)),
  };
}

function withServer(server: RemoteServer | undefined): { server?: RemoteServer } {
  return server ? { server } : {};
}

/**
 * The gateway the CLI works through, if any: --server, else MCPGW_SERVER unless --db is given (a
 * flag beats a variable). --server and --db together, a URL that is not http(s), or no token
 * (--token, MCPGW_TOKEN) are configuration errors (exit 2): the command must not quietly fall
 * back to the database.
 */
export function resolveServer(flags: Pick<FlagSettings, "db" | "server" | "token">, env: Pick<EnvSettings, "server" | "token">): RemoteServer | undefined {
  if (flags.server !== undefined && flags.db !== undefined) {
    throw new ConfigError(
      "--server and --db were both given: a command works either through a gateway or on a database",
      "drop one: --server URL (with --token) talks to a running gateway's admin API, --db URL opens the database itself",
    );
  }
  const text = flags.server ?? (flags.db === undefined ? env.server : undefined);
  if (text === undefined) {
    if (flags.token !== undefined) {
      throw new ConfigError(
        `--token goes with --server: without a gateway to send it to, the command would run on the database${flags.db !== undefined ? " given by --db" : ""}`,
        "add --server URL (or set MCPGW_SERVER) to work through a gateway, or drop --token to work on the database",
      );
    }
    return undefined;
  }
  const source = flags.server !== undefined ? "--server" : variableName("server");
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new ConfigError(`${source}: "${text}" is not an http(s) URL`, "give the gateway's address as clients reach it, e.g. --server http://127.0.0.1:8080");
  }
  const token = flags.token ?? env.token;
  if (token === undefined || token === "") {
    throw new ConfigError(
      `${source} needs an admin token: pass --token or set MCPGW_TOKEN`,
      "a token whose roles allow admin:* (or admin:read for lists); mcpgw token issue --sub ops --role ops prints one",
    );
  }
  return { url: url.href.replace(/\/+$/, ""), token, source: source as RemoteServer["source"] };
}

function parsePort(text: string | undefined, source: string): number {
  if (text === undefined) return DEFAULTS.port;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new ConfigError(`${source}: "${text}" is not a TCP port`, "use a whole number from 1 to 65535 (0 picks a free port)");
  }
  return port;
}

function parseLogLevel(text: string | undefined, source: string): LogLevel {
  if (text === undefined) return DEFAULTS.logLevel;
  if ((LOG_LEVELS as readonly string[]).includes(text)) return text as LogLevel;
  throw new ConfigError(`${source}: "${text}" is not a log level`, `use one of: ${LOG_LEVELS.join(", ")}`);
}

function parseMigrateMode(text: string | undefined): MigrateMode {
  if (text === undefined) return "auto";
  if ((MIGRATE_MODES as readonly string[]).includes(text)) return text as MigrateMode;
  throw new ConfigError(
    `${variableName("migrate")}: "${text}" is not a migrate mode`,
    `use one of: ${MIGRATE_MODES.join(", ")} (auto: migrate SQLite at start, check PostgreSQL)`,
  );
}

function parseOnOff(text: string | undefined, source: string, fallback: boolean): boolean {
  if (text === undefined) return fallback;
  if (text === "on") return true;
  if (text === "off") return false;
  throw new ConfigError(`${source}: "${text}" is neither on nor off`, "use on or off");
}

function parsePositiveInt(text: string | undefined, source: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`${source}: "${text}" is not a positive whole number`, "use e.g. 10");
  return n;
}

function parseProcessCap(text: string | undefined): number {
  const cap = parsePositiveInt(text, variableName("maxProcessesPerBackend")) ?? DEFAULTS.maxProcessesPerBackend;
  if (cap < 2) {
    throw new ConfigError(
      `${variableName("maxProcessesPerBackend")}: "${text}" leaves no process for sessions of their own`,
      "use 2 or more: one process is always kept for the connection sessions share (e.g. 16)",
    );
  }
  return cap;
}

function parseSnapshotInterval(text: string | undefined): number {
  if (text === undefined) return DEFAULTS.sessionSnapshotIntervalMs;
  const ms = parseDuration(text, variableName("sessionSnapshotInterval"));
  if (ms < 100) throw new ConfigError(`${variableName("sessionSnapshotInterval")}: "${text}" is too short`, "use 100ms or more (e.g. 5s)");
  return ms;
}

function parseList(text: string | undefined): string[] {
  return (text ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}
