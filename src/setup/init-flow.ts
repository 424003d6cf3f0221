import { existsSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import type { AuthSettings } from "../config/auth-settings.ts";
import { activeKey } from "../auth/signing-key.ts";
import { ensureActiveSigningKey } from "../auth/signing-keys.ts";
import { issueToken } from "../auth/token-issuer.ts";
import type { TokenRecord } from "../auth/token-record.ts";
import { type BackendInput, parseBackendInput } from "../backends/backend-input.ts";
import { type ProbeResult, probeBackend } from "../backends/backend-probe.ts";
import type { BackendSpec } from "../backends/backend-spec.ts";
import { ConflictError, McpgwError, describeError } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import { parseDatabaseUrl, redactUrl } from "../store/database-url.ts";
import { assertRoleName, assertSubject } from "../policy/role-repository.ts";
import type { Store } from "../store/store.ts";
import { type AdminRoleOutcome, ensureAdminRole, grantsFullAccess } from "./admin-access.ts";
import { openReadyDatabase } from "./database-setup.ts";
import { assertWritableLocation, readPreviousEnvFile, renderEnvFile, writeEnvFile } from "./env-file.ts";
import type { SetupDecisions } from "./setup-decisions.ts";

export interface InitOptions {
  /** Where the settings file goes, relative to `cwd` unless absolute. */
  envFile: string;
  /** The working directory the gateway will run in (relative paths are resolved against it). */
  cwd: string;
  /** The database URL to suggest (wizard) or use (scripted). */
  databaseUrl: string;
  adminRole: string;
  adminSubject: string;
  tokenTtlMs: number;
  /** A first backend from flags, to suggest or use. */
  backend?: BackendInput;
  /** Written to the settings file as MCPGW_HOST and MCPGW_PORT. */
  host: string;
  port: number;
  auth: Pick<AuthSettings, "tokenIssuer" | "tokenAudience" | "signingAlg">;
  /** The environment backends' ${VAR} references are resolved from when they are tested. */
  environment: Record<string, string | undefined>;
  logger: Logger;
  clientVersion: string;
  migrationsDir?: string;
}

/** What init did, for the summary it prints. */
export interface InitResult {
  envFile: string;
  databaseUrl: string;
  /** The database as logs show it (password hidden). */
  databaseLocation: string;
  migrationsApplied: string[];
  signingKey: { kid: string; created: boolean };
  role: { name: string; outcome: AdminRoleOutcome };
  subject: string;
  /** The admin token, shown once. */
  token: string;
  tokenRecord: TokenRecord;
  backend?: { spec: BackendSpec; replaced: boolean; probe?: ProbeResult; failure?: string };
}

/**
 * `mcpgw init`: finds where the settings go, gets a database that answers and is migrated, then
 * checks the admin role and the first backend (testing it) — asking `decisions` whenever something
 * already exists or did not work. Only then does it write: signing key, role, grant, backend,
 * token, and last the settings file, so a run stopped by a question leaves no half-set-up state.
 */
export async function runInit(options: InitOptions, decisions: SetupDecisions, say: (line: string) => void): Promise<InitResult> {
  const target = await chooseEnvFile(resolve(options.cwd, options.envFile), decisions);
  const { store, databaseUrl, applied } = await chooseDatabase(options, decisions, say);
  try {
    const subject = await decisions.adminSubject(options.adminSubject);
    assertSubject(subject);
    const role = await chooseAdminRole(store, options.adminRole, decisions);
    const backend = await chooseBackend(store, options, decisions, say);

    const before = activeKey(await store.signingKeys.list());
    const key = await ensureActiveSigningKey(store, options.auth.signingAlg);
    const outcome = await ensureAdminRole(store, role.name, role.replace);
    await store.roles.grant(role.name, subject);
    if (backend) {
      if (backend.replaced) await store.backends.remove(backend.spec.name);
      await store.backends.add(backend.spec);
    }
    const issued = await issueToken(store, options.auth, {
      subject,
      roles: [role.name],
      ttlMs: options.tokenTtlMs,
      description: "first admin token, from mcpgw init",
    });

    const previous = target.overwrite ? readPreviousEnvFile(target.path) : undefined;
    const values = {
      MCPGW_DATABASE_URL: portableDatabaseUrl(databaseUrl, options.cwd, target.path),
      MCPGW_HOST: options.host,
      MCPGW_PORT: String(options.port),
    };
    writeEnvFile(target.path, renderEnvFile(values, previous, new Date()), target.overwrite);
    return {
      envFile: target.path,
      databaseUrl,
      databaseLocation: store.location,
      migrationsApplied: applied,
      signingKey: { kid: key.kid, created: before?.kid !== key.kid },
      role: { name: role.name, outcome },
      subject,
      token: issued.token,
      tokenRecord: issued.record,
      ...(backend && { backend }),
    };
  } finally {
    await store.close().catch(() => undefined);
  }
}

async function chooseEnvFile(path: string, decisions: SetupDecisions): Promise<{ path: string; overwrite: boolean }> {
  let current = path;
  // Checked before anything else, so nothing is set up that could not then be saved.
  assertWritableLocation(current);
  while (existsSync(current)) {
    const answer = await decisions.envFileExists(current);
    if ("overwrite" in answer) return { path: current, overwrite: true };
    current = resolve(dirname(current), answer.path);
    assertWritableLocation(current);
  }
  return { path: current, overwrite: false };
}

async function chooseDatabase(
  options: InitOptions,
  decisions: SetupDecisions,
  say: (line: string) => void,
): Promise<{ store: Store; databaseUrl: string; applied: string[] }> {
  let suggested = options.databaseUrl;
  let failure: McpgwError | undefined;
  for (;;) {
    const url = await decisions.databaseUrl(suggested, failure);
    suggested = url;
    say(`checking the database ${redactUrl(url)}…`);
    try {
      const ready = await openReadyDatabase(resolveSqlitePath(url, options.cwd), {
        logger: options.logger,
        ...(options.migrationsDir !== undefined && { migrationsDir: options.migrationsDir }),
      });
      say(`  ok: ${ready.store.location} answers; ${ready.applied.length > 0 ? `applied ${ready.applied.length} migrations` : "migrations already current"}`);
      return { store: ready.store, databaseUrl: url, applied: ready.applied };
    } catch (err) {
      failure = asMcpgwError(err);
    }
  }
}

async function chooseAdminRole(store: Store, name: string, decisions: SetupDecisions): Promise<{ name: string; replace: boolean }> {
  let current = name;
  for (;;) {
    assertRoleName(current);
    const existing = await store.roles.get(current);
    if (!existing || grantsFullAccess(existing)) return { name: current, replace: false };
    const answer = await decisions.roleExists(existing);
    if ("replace" in answer) return { name: current, replace: true };
    current = answer.name;
  }
}

type ChosenBackend = NonNullable<InitResult["backend"]>;

async function chooseBackend(store: Store, options: InitOptions, decisions: SetupDecisions, say: (line: string) => void): Promise<ChosenBackend | undefined> {
  let input = options.backend;
  let failure: McpgwError | undefined;
  for (;;) {
    input = await decisions.backend(input, failure);
    failure = undefined;
    if (!input) return undefined;
    let spec: BackendSpec;
    try {
      spec = parseBackendInput(input);
    } catch (err) {
      failure = asMcpgwError(err);
      continue;
    }
    const existing = await store.backends.get(spec.name);
    const replaced = existing !== undefined && !sameBackend(existing, spec);
    if (replaced && !(await decisions.backendExists(existing))) {
      failure = new ConflictError(`a different backend "${spec.name}" is already registered and was kept`, "give this one another name");
      continue;
    }
    say(`testing backend "${spec.name}" (${spec.transport})…`);
    try {
      const probe = await probeBackend(spec, { env: options.environment, logger: options.logger, clientVersion: options.clientVersion });
      say(
        `  ok: ${probe.server.name} ${probe.server.version}, ${probe.tools.length} tool${probe.tools.length === 1 ? "" : "s"}, initialised in ${probe.connectMs} ms`,
      );
      return { spec, replaced, probe };
    } catch (err) {
      const error = asMcpgwError(err);
      const choice = await decisions.backendFailed(error);
      if (choice === "keep") return { spec, replaced, failure: error.message };
      if (choice === "skip") return undefined;
    }
  }
}

/** Whether a registered backend is the one being added (then it is kept, not replaced). */
function sameBackend(a: BackendSpec, b: BackendSpec): boolean {
  const shape = (spec: BackendSpec) => JSON.stringify([spec.transport, spec.url, spec.command, spec.env, spec.headers, spec.timeoutMs, spec.limits ?? null]);
  return shape(a) === shape(b);
}

/** A relative SQLite path means relative to the folder the gateway runs in, whatever this process's own directory. */
function resolveSqlitePath(url: string, cwd: string): string {
  const target = parseDatabaseUrl(url);
  return target.kind === "sqlite" && !isAbsolute(target.path) ? `sqlite:${resolve(cwd, target.path)}` : url;
}

/**
 * The URL as written to the settings file: a relative SQLite path stays relative (the folder can
 * move) when the file sits in the gateway's folder, and becomes absolute when it is written elsewhere.
 */
function portableDatabaseUrl(url: string, cwd: string, envFile: string): string {
  return dirname(envFile) === resolve(cwd) ? url : resolveSqlitePath(url, cwd);
}

function asMcpgwError(err: unknown): McpgwError {
  return err instanceof McpgwError ? err : new McpgwError(describeError(err), "run again with --log-level debug for details", { cause: err });
}
