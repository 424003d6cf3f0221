import type { ProbeResult } from "../backends/backend-probe.ts";
import { type BackendInput, parseBackendInput } from "../backends/backend-input.ts";
import type { BackendRepository } from "../backends/backend-repository.ts";
import type { BackendSpec } from "../backends/backend-spec.ts";
import { UNSETTABLE_SETTINGS, type UnsettableSetting } from "../backends/unsettable-settings.ts";
import { redactSecrets, redactUrl } from "../backends/secret-refs.ts";
import type { Logger } from "../log/logger.ts";
import { type BackendAuth, authInputOf } from "../credentials/backend-auth.ts";
import { ConflictError, McpgwError, NotFoundError, UsageError, describeError, fieldError } from "../errors.ts";
import type { LimitRepository } from "../limits/limit-repository.ts";
import { globToRegExp } from "../policy/glob.ts";
import { formatPermission } from "../policy/permission.ts";
import type { RoleRepository } from "../policy/role-repository.ts";
import type { DriftMode, PinMode, PinPolicy, PinRepository, SuspiciousMode } from "../pinning/pin-record.ts";

/**
 * Backends as `mcpgw backend …` and the admin API (/v1/admin/backends) add, change, show, test
 * and remove them: one implementation of the merge of new settings over stored ones, of the
 * test before saving, and of what a backend looks like outside the store (secrets redacted).
 */

/** What the backend operations read and write. */
export interface BackendStore {
  readonly backends: BackendRepository;
  readonly pins: PinRepository;
  readonly roles: RoleRepository;
  readonly limits: LimitRepository;
}

/**
 * Runs a step with an open store: the CLI opens one per step (so none is held while a slow
 * backend is tested), the gateway passes its own.
 */
export type UseStore = <T>(fn: (store: BackendStore) => Promise<T>) => Promise<T>;

/** How a backend is tested: the environment its ${VAR}s resolve in, a logger, our client version. */
export interface ProbeContext {
  env: Record<string, string | undefined>;
  logger: Logger;
  clientVersion: string;
}

/** The pinning flags of `backend add` and `backend update`. */
export interface PinFlags {
  pinMode?: PinMode;
  driftMode?: DriftMode;
  suspicious?: SuspiciousMode;
}

/** The flags of `backend add` (and `backend update`), plus --no-test and the pinning modes. */
export type BackendFlags = Omit<BackendInput, "name"> & PinFlags & { test?: boolean };

export { UNSETTABLE_SETTINGS };

/** A backend as printed: header and env values redacted, URL password hidden, times as ISO strings. */
export interface BackendView {
  name: string;
  transport: string;
  url?: string;
  command?: string[];
  env: Record<string, string>;
  headers: Record<string, string>;
  timeoutMs: number;
  limits?: BackendSpec["limits"];
  idempotentTools?: string[];
  /** Who the backend sees: "static", or a per-caller mode with its options (never a secret). */
  auth: BackendAuth | { mode: "static" };
  /** Which protocol era the gateway speaks to it: "auto", detected on each connect (backend test reports the result). */
  era: "auto";
  createdAt: string;
  updatedAt: string;
}

/** Sets the pinning modes the flags give (none given: nothing). */
export async function applyPinFlags(store: Pick<BackendStore, "pins">, name: string, flags: PinFlags): Promise<PinPolicy | undefined> {
  const modes = {
    ...(flags.pinMode && { pinMode: flags.pinMode }),
    ...(flags.driftMode && { driftMode: flags.driftMode }),
    ...(flags.suspicious && { suspicious: flags.suspicious }),
  };
  if (Object.keys(modes).length === 0) return undefined;
  return store.pins.setPolicy(name, modes, Date.now());
}

export async function requireBackend(store: Pick<BackendStore, "backends">, name: string): Promise<BackendSpec> {
  const spec = await store.backends.get(name);
  if (!spec) throw new NotFoundError(`there is no backend "${name}"`, "list the backends with: mcpgw backend list");
  return spec;
}

/** Validates backend input; a UsageError names the field it is about (the flag it names, camel-cased: `--max-body` → `maxBody`). */
export function parseBackendFields(input: BackendInput): BackendSpec {
  try {
    return parseBackendInput(input);
  } catch (err) {
    if (err instanceof McpgwError && err.exitCode === 2 && err.field === undefined) {
      const flag = /--([a-z][a-z-]*)/.exec(err.message)?.[1];
      err.field = flag === undefined ? "name" : flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    }
    throw err;
  }
}

/** What adding a backend did: the saved spec, its pinning modes when set, and the test's result when it was tested. */
export interface BackendAdded {
  spec: BackendSpec;
  policy?: PinPolicy;
  probe?: ProbeResult;
}

/**
 * Validates the input, tests the backend as `backend test` does (unless `test` is false, or it
 * takes per-caller credentials: there is none to test with) and registers it. A failed test saves
 * nothing and says why and how to skip the test.
 */
export async function addBackend(useStore: UseStore, name: string, options: BackendFlags, probeContext: ProbeContext): Promise<BackendAdded> {
  const { test, pinMode, driftMode, suspicious, ...flags } = options;
  const spec = parseBackendFields({ ...flags, name });
  const taken = await useStore((store) => store.backends.get(spec.name));
  if (taken) throw new ConflictError(`backend "${spec.name}" already exists`, `change it with: mcpgw backend update ${spec.name} …; or choose another name`);
  const probe =
    test === false || spec.auth
      ? undefined
      : await testBeforeSaving(probeContext, spec, {
          failed: `backend "${spec.name}" was not added`,
          changeWith: `fix the flag: mcpgw backend add ${spec.name} …`,
          skip: `mcpgw backend add ${spec.name} … --no-test`,
        });
  const policy = await useStore(async (store) => {
    await store.backends.add(spec);
    return applyPinFlags(store, spec.name, { pinMode, driftMode, suspicious });
  });
  return { spec, ...(policy && { policy }), ...(probe && { probe }) };
}

/** What updating a backend did. `after` is absent when only pinning modes were given, or nothing differed. */
export interface BackendUpdated {
  before: BackendSpec;
  after?: BackendSpec;
  /** The pinning modes now, when the input set any. */
  policy?: PinPolicy;
  /** Settings that changed, named as their flags. */
  changed: string[];
  /** What switching between --url and --command dropped. */
  dropped: string[];
  probe?: ProbeResult;
}

/**
 * Changes only what the input gives (repeatable flags replace their whole list; `unset` returns a
 * setting to its default), validates the result as `add` does and tests it unless `test` is
 * false. Pinning modes are applied first (`onPinPolicy` hears them at once).
 */
export async function updateBackend(
  useStore: UseStore,
  name: string,
  options: BackendFlags & { unset?: string[] },
  probeContext: ProbeContext,
  onPinPolicy: (policy: PinPolicy | undefined) => void = () => undefined,
): Promise<BackendUpdated> {
  const { test, unset = [], pinMode, driftMode, suspicious, ...flags } = options;
  const pinFlags = { pinMode, driftMode, suspicious };
  const settingsGiven = Object.values(flags).some(given) || unset.length > 0;
  let policy: PinPolicy | undefined;
  if (Object.values(pinFlags).some(given)) {
    const [before, applied] = await useStore(async (store) => {
      const before = await requireBackend(store, name);
      return [before, await applyPinFlags(store, name, pinFlags)] as const;
    });
    policy = applied;
    onPinPolicy(policy);
    if (!settingsGiven) return { before, ...(policy && { policy }), changed: [], dropped: [] };
  }
  if (!settingsGiven) {
    throw new UsageError(
      "nothing to change",
      `give the flags to change, as for backend add, e.g. mcpgw backend update ${name} --timeout 60s (see mcpgw backend update --help)`,
    );
  }
  const current = await useStore((store) => requireBackend(store, name));
  const { input, dropped } = mergeBackendInput(current, flags, unset);
  const spec = parseBackendFields(input);
  const changed = changedFields(current, spec);
  if (changed.length === 0) return { before: current, ...(policy && { policy }), changed, dropped };
  const probe =
    test === false || spec.auth
      ? undefined
      : await testBeforeSaving(probeContext, spec, {
          failed: `backend "${name}" was not changed`,
          changeWith: `fix the flag: mcpgw backend update ${name}`,
          skip: `mcpgw backend update ${name} … --no-test`,
        });
  const after = await useStore((store) => store.backends.update(spec, current.updatedAt));
  return { before: current, after, ...(policy && { policy }), changed, dropped, ...(probe && { probe }) };
}

/** `backend test`: connects as the gateway would (era detection, initialize or discover) and lists the tools. */
export async function testBackend(spec: BackendSpec, probeContext: ProbeContext): Promise<ProbeResult> {
  if (spec.auth) {
    throw new UsageError(
      `backend "${spec.name}" takes per-caller credentials (--auth ${spec.auth.mode}): it is reached only as a caller`,
      spec.auth.mode === "token-exchange"
        ? "call it as a client logged in at the identity provider; mcpgw doctor checks its token endpoint"
        : `test it as one: mcpgw call ${spec.name}/TOOL '{}' --as SUBJECT (mcpgw tools list --backend ${spec.name} --as SUBJECT lists its tools)`,
    );
  }
  // Loaded here: the probe brings the MCP SDK, which neither an idle gateway nor /openapi.json needs.
  const { probeBackend } = await import("../backends/backend-probe.ts");
  return probeBackend(spec, probeContext);
}

/**
 * Connects to a backend as `backend test` does, before it is saved. A failure says what was not
 * saved, why, and how to skip the test.
 */
async function testBeforeSaving(
  probeContext: ProbeContext,
  spec: BackendSpec,
  words: { failed: string; changeWith: string; skip: string },
): Promise<ProbeResult> {
  try {
    const { probeBackend } = await import("../backends/backend-probe.ts");
    return await probeBackend(spec, { ...probeContext, changeWith: words.changeWith });
  } catch (err) {
    const failure = err instanceof McpgwError ? err : new McpgwError(describeError(err));
    throw new McpgwError(
      `${words.failed}: testing it failed: ${failure.message}`,
      `${failure.hint ? `${failure.hint}\n  → ` : ""}to save it without the test (e.g. the server is not running yet, or its \${VAR}s are set only where the gateway runs): ${words.skip}`,
      { cause: err },
    );
  }
}

/** The options of a credential mode, dropped with it. */
const AUTH_OPTION_KEYS = [
  "authHeader",
  "assertionAudience",
  "tokenEndpoint",
  "exchangeAudience",
  "exchangeScope",
  "clientId",
  "clientSecret",
] as const satisfies readonly (keyof BackendInput)[];

/** The flag each `--unset` setting names. */
const UNSET_KEYS: Record<UnsettableSetting, keyof BackendInput> = {
  env: "env",
  header: "header",
  timeout: "timeout",
  transport: "transport",
  "max-concurrency": "maxConcurrency",
  "max-queue": "maxQueue",
  "max-body": "maxBody",
  "max-response": "maxResponse",
  "max-processes": "maxProcesses",
  "idempotent-tool": "idempotentTool",
  auth: "auth",
};

/**
 * The stored backend as flags, with the given flags laid over it. Switching between --url and
 * --command drops what only the old kind has (env and --max-processes of a stdio backend;
 * headers and transport of an HTTP one), and says so.
 */
export function mergeBackendInput(
  spec: BackendSpec,
  flags: Omit<BackendInput, "name">,
  unset: readonly string[] = [],
): { input: BackendInput; dropped: string[] } {
  const input: BackendInput = inputOf(spec);
  const dropped: string[] = [];
  const drop = (key: keyof BackendInput, label: string) => {
    if (given(input[key])) dropped.push(label);
    delete input[key];
  };
  if (flags.url !== undefined && spec.transport === "stdio") {
    delete input.command;
    drop("env", "the env");
    drop("maxProcesses", "--max-processes");
  }
  if (flags.command !== undefined && spec.transport !== "stdio") {
    delete input.url;
    delete input.transport;
    drop("header", "the headers");
  }
  for (const setting of unset) {
    const key = UNSET_KEYS[setting as UnsettableSetting];
    if (key === undefined) throw fieldError("unset", `--unset ${setting}: no such setting`, `use one of: ${UNSETTABLE_SETTINGS.join(", ")}`);
    delete input[key];
  }
  // A new mode starts from its own defaults: the old mode's options do not carry over (nor does --unset auth keep them).
  if (flags.auth !== undefined || unset.includes("auth")) for (const key of AUTH_OPTION_KEYS) delete input[key];
  for (const [key, value] of Object.entries(flags) as [keyof BackendInput, BackendInput[keyof BackendInput]][]) {
    if (given(value)) (input as unknown as Record<string, unknown>)[key] = value;
  }
  return { input, dropped };
}

/** A stored backend written back as the flags that would create it. */
function inputOf(spec: BackendSpec): BackendInput {
  const limits = spec.limits ?? {};
  return {
    name: spec.name,
    ...(spec.url !== undefined && { url: spec.url, transport: spec.transport }),
    ...(spec.command !== undefined && { command: spec.command.map(shellQuote).join(" ") }),
    env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
    header: Object.entries(spec.headers).map(([key, value]) => `${key}: ${value}`),
    timeout: `${spec.timeoutMs}ms`,
    ...(limits.maxConcurrency !== undefined && { maxConcurrency: String(limits.maxConcurrency) }),
    ...(limits.maxQueue !== undefined && { maxQueue: String(limits.maxQueue) }),
    ...(limits.maxBodyBytes !== undefined && { maxBody: String(limits.maxBodyBytes) }),
    ...(limits.maxResponseBytes !== undefined && { maxResponse: String(limits.maxResponseBytes) }),
    ...(limits.maxProcesses !== undefined && { maxProcesses: String(limits.maxProcesses) }),
    idempotentTool: spec.idempotentTools ?? [],
    ...authInputOf(spec.auth),
  };
}

/** A flag was given: a value, or a repeatable flag with at least one item. */
function given(value: unknown): boolean {
  return Array.isArray(value) ? value.length > 0 : value !== undefined;
}

/** Which settings differ, named as the flags that set them. */
export function changedFields(before: BackendSpec, after: BackendSpec): string[] {
  const fields: [string, (spec: BackendSpec) => unknown][] = [
    ["transport", (spec) => spec.transport],
    ["url", (spec) => spec.url],
    ["command", (spec) => spec.command],
    ["env", (spec) => spec.env],
    ["headers", (spec) => spec.headers],
    ["timeout", (spec) => spec.timeoutMs],
    ["limits", (spec) => spec.limits ?? {}],
    ["idempotent tools", (spec) => spec.idempotentTools ?? []],
    ["auth", (spec) => spec.auth ?? {}],
  ];
  return fields.filter(([, read]) => JSON.stringify(read(before)) !== JSON.stringify(read(after))).map(([label]) => label);
}

/** The role rules and limit rules whose backend part names this backend (a bare * is meant for every backend, so it does not count). */
export async function patternsNaming(store: Pick<BackendStore, "roles" | "limits">, name: string): Promise<string[]> {
  const names = (pattern: string) => pattern !== "*" && globToRegExp(pattern).test(name);
  const roles = (await store.roles.list()).flatMap((role) => {
    const rules = role.rules.filter((rule) => names(rule.permission.backend)).map((rule) => `${rule.effect} ${formatPermission(rule.permission)}`);
    return rules.length > 0 ? [`role ${role.name}: ${rules.join(", ")}`] : [];
  });
  const limits = (await store.limits.list())
    .filter((rule) => rule.toolPattern !== undefined && names(rule.toolPattern.split("/")[0]!))
    .map((rule) => `limit ${rule.id}: --tool ${rule.toolPattern}`);
  return [...roles, ...limits];
}

export function backendView(spec: BackendSpec): BackendView {
  return {
    name: spec.name,
    transport: spec.transport,
    ...(spec.url !== undefined && { url: redactUrl(spec.url) }),
    ...(spec.command !== undefined && { command: spec.command }),
    env: redactSecrets(spec.env),
    headers: redactSecrets(spec.headers),
    timeoutMs: spec.timeoutMs,
    ...(spec.limits && { limits: spec.limits }),
    ...(spec.idempotentTools && { idempotentTools: spec.idempotentTools }),
    auth: spec.auth ?? { mode: "static" },
    era: "auto",
    createdAt: new Date(spec.createdAt).toISOString(),
    updatedAt: new Date(spec.updatedAt).toISOString(),
  };
}

/** The URL (password hidden), or the command line quoted so that it could be pasted back into --command; of a spec or its view. */
export function backendTarget(spec: Pick<BackendSpec, "url" | "command">): string {
  if (spec.url !== undefined) return redactUrl(spec.url);
  return (spec.command ?? []).map(shellQuote).join(" ");
}

export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
