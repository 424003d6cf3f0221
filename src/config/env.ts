import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, describeError } from "../errors.ts";
import { parseDotenvLines } from "./dotenv.ts";

/**
 * The one module that reads MCPGW_* variables. Everything else receives settings from here
 * (through `resolveSettings`), so the full list of variables is this file and example.env.
 * Nothing is read at import time: callers pass the environment in.
 */
export interface EnvSettings {
  databaseUrl?: string;
  host?: string;
  port?: string;
  logLevel?: string;
  shutdownTimeout?: string;
  dbPoolSize?: string;
  migrationsDir?: string;
  testPostgresUrl?: string;
  allowedHosts?: string;
  allowedOrigins?: string;
  sessionIdleTimeout?: string;
  maxBodyBytes?: string;
  bodyTimeout?: string;
  maxJsonDepth?: string;
  maxJsonItems?: string;
  inputTtl?: string;
  migrate?: string;
  programName?: string;
  maxSessionsPerSubject?: string;
  maxProcessesPerBackend?: string;
  sessionSnapshotInterval?: string;
  pinRecheck?: string;
  audit?: string;
  auditFailOpen?: string;
  auditRedactKeys?: string;
  auditArgumentsMaxBytes?: string;
  auditInstance?: string;
  auth?: string;
  tokenIssuer?: string;
  tokenAudience?: string;
  signingAlg?: string;
  jwtSecret?: string;
  jwtJwksUrl?: string;
  jwtIssuer?: string;
  jwtAudience?: string;
  jwtSubjectClaim?: string;
  jwtRolesClaim?: string;
  jwtClockSkew?: string;
  jwtMaxLifetime?: string;
  jwtJwksCooldown?: string;
  publicUrl?: string;
  authorizationServers?: string;
  jobWorkers?: string;
  jobLease?: string;
  jobDefaultTtl?: string;
  jobMaxTtl?: string;
  jobTimeout?: string;
  jobMaxArgumentBytes?: string;
  jobMaxResultBytes?: string;
  jobAdminRole?: string;
  secretKey?: string;
  secretKeyFile?: string;
  secretKeyOld?: string;
  secretKeyOldFile?: string;
  console?: string;
  server?: string;
  token?: string;
}

/** Every MCPGW_* variable the gateway reads, by setting. */
export const VARIABLES = {
  databaseUrl: "MCPGW_DATABASE_URL",
  host: "MCPGW_HOST",
  port: "MCPGW_PORT",
  logLevel: "MCPGW_LOG_LEVEL",
  shutdownTimeout: "MCPGW_SHUTDOWN_TIMEOUT",
  dbPoolSize: "MCPGW_DB_POOL_SIZE",
  migrationsDir: "MCPGW_MIGRATIONS_DIR",
  testPostgresUrl: "MCPGW_TEST_PG_URL",
  allowedHosts: "MCPGW_ALLOWED_HOSTS",
  allowedOrigins: "MCPGW_ALLOWED_ORIGINS",
  sessionIdleTimeout: "MCPGW_SESSION_IDLE_TIMEOUT",
  maxBodyBytes: "MCPGW_MAX_BODY_BYTES",
  bodyTimeout: "MCPGW_BODY_TIMEOUT",
  maxJsonDepth: "MCPGW_MAX_JSON_DEPTH",
  maxJsonItems: "MCPGW_MAX_JSON_ITEMS",
  inputTtl: "MCPGW_INPUT_TTL",
  migrate: "MCPGW_MIGRATE",
  programName: "MCPGW_PROGRAM_NAME",
  maxSessionsPerSubject: "MCPGW_MAX_SESSIONS_PER_SUBJECT",
  maxProcessesPerBackend: "MCPGW_MAX_PROCESSES_PER_BACKEND",
  sessionSnapshotInterval: "MCPGW_SESSION_SNAPSHOT_INTERVAL",
  pinRecheck: "MCPGW_PIN_RECHECK",
  audit: "MCPGW_AUDIT",
  auditFailOpen: "MCPGW_AUDIT_FAIL_OPEN",
  auditRedactKeys: "MCPGW_AUDIT_REDACT_KEYS",
  auditArgumentsMaxBytes: "MCPGW_AUDIT_ARGUMENTS_MAX_BYTES",
  auditInstance: "MCPGW_AUDIT_INSTANCE",
  auth: "MCPGW_AUTH",
  tokenIssuer: "MCPGW_TOKEN_ISSUER",
  tokenAudience: "MCPGW_TOKEN_AUDIENCE",
  signingAlg: "MCPGW_SIGNING_ALG",
  jwtSecret: "MCPGW_JWT_SECRET",
  jwtJwksUrl: "MCPGW_JWT_JWKS_URL",
  jwtIssuer: "MCPGW_JWT_ISSUER",
  jwtAudience: "MCPGW_JWT_AUDIENCE",
  jwtSubjectClaim: "MCPGW_JWT_SUBJECT_CLAIM",
  jwtRolesClaim: "MCPGW_JWT_ROLES_CLAIM",
  jwtClockSkew: "MCPGW_JWT_CLOCK_SKEW",
  jwtMaxLifetime: "MCPGW_JWT_MAX_LIFETIME",
  jwtJwksCooldown: "MCPGW_JWT_JWKS_COOLDOWN",
  publicUrl: "MCPGW_PUBLIC_URL",
  authorizationServers: "MCPGW_AUTHORIZATION_SERVERS",
  jobWorkers: "MCPGW_JOB_WORKERS",
  jobLease: "MCPGW_JOB_LEASE",
  jobDefaultTtl: "MCPGW_JOB_DEFAULT_TTL",
  jobMaxTtl: "MCPGW_JOB_MAX_TTL",
  jobTimeout: "MCPGW_JOB_TIMEOUT",
  jobMaxArgumentBytes: "MCPGW_JOB_MAX_ARGUMENT_BYTES",
  jobMaxResultBytes: "MCPGW_JOB_MAX_RESULT_BYTES",
  jobAdminRole: "MCPGW_JOB_ADMIN_ROLE",
  secretKey: "MCPGW_SECRET_KEY",
  secretKeyFile: "MCPGW_SECRET_KEY_FILE",
  secretKeyOld: "MCPGW_SECRET_KEY_OLD",
  secretKeyOldFile: "MCPGW_SECRET_KEY_OLD_FILE",
  console: "MCPGW_CONSOLE",
  server: "MCPGW_SERVER",
  token: "MCPGW_TOKEN",
} as const satisfies Record<keyof EnvSettings, `MCPGW_${string}`>;

/** Every MCPGW_* variable this program reads, in the order example.env lists them. */
export const SETTING_VARIABLES: readonly string[] = Object.values(VARIABLES);

/** The variable name behind a setting, for error messages ("set MCPGW_PORT …"). */
export function variableName(key: keyof EnvSettings): string {
  return VARIABLES[key];
}

/** The settings file read from the working directory (what `mcpgw init` writes). */
export const DOTENV_FILE = ".env";

/**
 * The process's environment over the `.env` file in the working directory: a variable set in the
 * real environment always wins. Bun loads `.env` into process.env at start-up too (source runs and
 * binaries built by scripts/build.ts alike, as of Bun 1.4); reading it here as well keeps the
 * settings the same when it did not (`bun --no-env-file`, a build without autoloadDotenv).
 */
export function processEnvironment(cwd: string = process.cwd(), env: Record<string, string | undefined> = process.env): Record<string, string | undefined> {
  const path = join(cwd, DOTENV_FILE);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as { code?: unknown }).code === "ENOENT") return env;
    throw new ConfigError(`cannot read ${path}: ${describeError(err)}`, `make it readable, or remove it (it holds MCPGW_* settings; see example.env)`);
  }
  const { values, lines } = parseDotenvLines(text, path, env);
  const merged = { ...values, ...definedOnly(env) };
  // Where each value in force came from the file ("path, line N"), for errors about it. Bun loads
  // .env into process.env too, so a value equal to the file's came from the file.
  const origins = new Map<string, string>();
  for (const [key, line] of Object.entries(lines)) if (merged[key] === values[key]) origins.set(key, `${path}, line ${line}`);
  ORIGINS.set(merged, origins);
  return merged;
}

/** Environments processEnvironment built → where their .env values came from; weak, so nothing is kept alive. */
const ORIGINS = new WeakMap<object, Map<string, string>>();

/**
 * The error about a setting, with the .env file and line its value came from when it came from
 * one: `MCPGW_PORT: "80a" is not a TCP port` becomes `/srv/.env, line 3: MCPGW_PORT: …`.
 */
export function locateInDotenv(err: unknown, env: EnvSettings): unknown {
  const origins = ORIGINS.get(env);
  if (!origins || !(err instanceof ConfigError)) return err;
  const variable = /^(MCPGW_[A-Z0-9_]+)\b/.exec(err.message)?.[1];
  const origin = variable === undefined ? undefined : origins.get(variable);
  if (origin === undefined) return err;
  return new ConfigError(`${origin}: ${err.message}`, err.hint, { cause: err });
}

/** Reads every MCPGW_* variable this program knows (by default from processEnvironment()); empty values count as unset. */
export function readEnv(env: Record<string, string | undefined> = processEnvironment()): EnvSettings {
  const settings: EnvSettings = {};
  for (const [key, name] of Object.entries(VARIABLES) as [keyof EnvSettings, string][]) {
    const value = env[name];
    if (value !== undefined && value !== "") settings[key] = value;
  }
  const origins = ORIGINS.get(env);
  if (origins) ORIGINS.set(settings, origins);
  return settings;
}

function definedOnly(env: Record<string, string | undefined>): Record<string, string> {
  const defined: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined) defined[key] = value;
  return defined;
}
