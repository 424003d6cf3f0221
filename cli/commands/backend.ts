import { type BackendInput, parseBackendInput } from "../../src/backends/backend-input.ts";
import { type ProbeResult, probeBackend } from "../../src/backends/backend-probe.ts";
import type { BackendSpec } from "../../src/backends/backend-spec.ts";
import { hasLiteralSecrets, redactSecrets, redactUrl } from "../../src/backends/secret-refs.ts";
import { formatDuration } from "../../src/config/duration.ts";
import { type BackendAuth, authInputOf, describeAuth } from "../../src/credentials/backend-auth.ts";
import { formatSize } from "../../src/config/size.ts";
import { processEnvironment } from "../../src/config/env.ts";
import { ConflictError, McpgwError, NotFoundError, UsageError, describeError } from "../../src/errors.ts";
import { globToRegExp } from "../../src/policy/glob.ts";
import { formatPermission } from "../../src/policy/permission.ts";
import type { Store } from "../../src/store/store.ts";
import { type PinPolicy, type PinRecord, defaultPinPolicy } from "../../src/pinning/pin-record.ts";
import { formatReview, needsReview, reviewOf } from "../../src/pinning/pin-review.ts";
import { confirmDestructive } from "../confirm.ts";
import { type CommandContext, withStore } from "../context.ts";
import { UNSETTABLE_SETTINGS } from "../tree/backend.ts";
import { printJson, printTable } from "../output.ts";
import { VERSION } from "../version.ts";
import { type PinFlags, applyPinFlags, describePins } from "./backend-pins.ts";

/** A backend as printed: header and env values redacted, URL password hidden, times as ISO strings. */
interface BackendView {
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

/** The flags of `backend add` (and `backend update`), plus --no-test and the pinning modes. */
export type BackendFlags = Omit<BackendInput, "name"> & PinFlags & { test?: boolean };

/**
 * `mcpgw backend add NAME …`: validates the flags, tests the backend as `backend test` does
 * (connect, initialize or discover, list tools) unless --no-test, and registers it. A failed
 * test saves nothing and says why and how to skip the test.
 */
export async function runBackendAdd(context: CommandContext, name: string, options: BackendFlags): Promise<void> {
  const { test, pinMode, driftMode, suspicious, ...flags } = options;
  const spec = parseBackendInput({ ...flags, name });
  const taken = await withStore(context, (store) => store.backends.get(spec.name));
  if (taken) throw new ConflictError(`backend "${spec.name}" already exists`, `change it with: mcpgw backend update ${spec.name} …; or choose another name`);
  const probe =
    test === false || spec.auth
      ? undefined
      : await testBeforeSaving(context, spec, {
          failed: `backend "${spec.name}" was not added`,
          changeWith: `fix the flag: mcpgw backend add ${spec.name} …`,
          skip: `mcpgw backend add ${spec.name} … --no-test`,
        });
  const policy = await withStore(context, async (store) => {
    await store.backends.add(spec);
    return applyPinFlags(store, spec.name, { pinMode, driftMode, suspicious });
  });
  console.log(`added backend "${spec.name}" (${spec.transport}: ${target(spec)})`);
  if (policy?.pinMode === "explicit") process.stderr.write(`pinning is explicit: its definitions are held back until you run mcpgw backend pin ${spec.name}\n`);
  noteLiteralSecrets(spec);
  process.stderr.write(probe ? `tested: ${describeProbe(probe)}\n` : notTested(spec));
}

/**
 * `mcpgw backend update NAME …`: changes only what the flags give (repeatable flags replace their
 * whole list; --unset returns a setting to its default), validates the result as `add` does and
 * tests it unless --no-test. Running gateways reconnect the backend within a second.
 */
export async function runBackendUpdate(context: CommandContext, name: string, options: BackendFlags & { unset: string[] }): Promise<void> {
  const { test, unset, pinMode, driftMode, suspicious, ...flags } = options;
  const pinFlags = { pinMode, driftMode, suspicious };
  if (Object.values(pinFlags).some(given)) {
    const policy = await withStore(context, async (store) => {
      await requireBackend(store, name);
      return applyPinFlags(store, name, pinFlags);
    });
    console.log(
      `backend "${name}" pinning: ${policy?.pinMode}, drift ${policy?.driftMode}, suspicious ${policy?.suspicious} (running gateways apply it within a second)`,
    );
    if (!Object.values(flags).some(given) && unset.length === 0) return;
  }
  if (!Object.values(flags).some(given) && unset.length === 0) {
    throw new UsageError(
      "nothing to change",
      `give the flags to change, as for backend add, e.g. mcpgw backend update ${name} --timeout 60s (see mcpgw backend update --help)`,
    );
  }
  const current = await withStore(context, (store) => requireBackend(store, name));
  const { input, dropped } = mergeBackendInput(current, flags, unset);
  const spec = parseBackendInput(input);
  const changed = changedFields(current, spec);
  if (changed.length === 0) {
    console.log(`backend "${name}" already has these settings: nothing changed`);
    return;
  }
  const probe =
    test === false || spec.auth
      ? undefined
      : await testBeforeSaving(context, spec, {
          failed: `backend "${name}" was not changed`,
          changeWith: `fix the flag: mcpgw backend update ${name}`,
          skip: `mcpgw backend update ${name} … --no-test`,
        });
  await withStore(context, (store) => store.backends.update(spec, current.updatedAt));
  console.log(`updated backend "${name}": ${changed.join(", ")} (running gateways reconnect it within a second)`);
  if (dropped.length > 0)
    process.stderr.write(`note: dropped ${dropped.join(" and ")}, which ${dropped.length === 1 ? "applies" : "apply"} only to the other kind of backend\n`);
  noteLiteralSecrets(spec);
  process.stderr.write(probe ? `tested: ${describeProbe(probe)}\n` : notTested(spec));
}

/** Why a backend was saved untested, and how to check it. */
function notTested(spec: BackendSpec): string {
  // A per-caller backend is only ever reached as a caller: there is no credential to test it with here.
  if (spec.auth?.mode === "token-exchange") {
    return `not tested: it takes per-caller credentials (--auth token-exchange); mcpgw doctor checks its token endpoint, and a caller with an identity-provider login can call it\n`;
  }
  if (spec.auth) {
    return `not tested: it takes per-caller credentials (--auth ${spec.auth.mode}); check it as a caller: mcpgw call ${spec.name}/TOOL '{}' --as SUBJECT\n`;
  }
  return `not tested (--no-test); check it with: mcpgw backend test ${spec.name}\n`;
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
const UNSET_KEYS: Record<(typeof UNSETTABLE_SETTINGS)[number], keyof BackendInput> = {
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
    const key = UNSET_KEYS[setting as (typeof UNSETTABLE_SETTINGS)[number]];
    if (key === undefined) throw new UsageError(`--unset ${setting}: no such setting`, `use one of: ${UNSETTABLE_SETTINGS.join(", ")}`);
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
function changedFields(before: BackendSpec, after: BackendSpec): string[] {
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

/**
 * Connects to a backend as `backend test` does, before it is saved. The store is closed by then:
 * a slow backend must not hold a database connection. A failure says what was not saved, why,
 * and how to skip the test.
 */
async function testBeforeSaving(context: CommandContext, spec: BackendSpec, words: { failed: string; changeWith: string; skip: string }): Promise<ProbeResult> {
  try {
    // ${VAR}s resolve as the gateway would resolve them here: this environment and ./.env.
    return await probeBackend(spec, { env: processEnvironment(), logger: context.adminLogger(), clientVersion: VERSION, changeWith: words.changeWith });
  } catch (err) {
    const failure = err instanceof McpgwError ? err : new McpgwError(describeError(err));
    throw new McpgwError(
      `${words.failed}: testing it failed: ${failure.message}`,
      `${failure.hint ? `${failure.hint}\n  → ` : ""}to save it without the test (e.g. the server is not running yet, or its \${VAR}s are set only where the gateway runs): ${words.skip}`,
      { cause: err },
    );
  }
}

function describeProbe(probe: ProbeResult): string {
  return `${probe.server.name} ${probe.server.version} answered over ${probe.transport} (${probe.era === "modern" ? "2026-07-28, stateless" : `protocol ${probe.protocolVersion ?? "unknown"}`}) with ${probe.tools.length} tool${probe.tools.length === 1 ? "" : "s"} in ${formatDuration(probe.connectMs)}`;
}

function noteLiteralSecrets(spec: BackendSpec): void {
  if (hasLiteralSecrets(spec.headers) || hasLiteralSecrets(spec.env)) {
    process.stderr.write(
      "note: some header or env values are stored as given, in the database; for secrets prefer ${VAR} references, resolved from the gateway's environment\n",
    );
  }
}

/** `mcpgw backend list`: a table for people, an array for scripts. */
export async function runBackendList(context: CommandContext, options: { json?: boolean }): Promise<void> {
  const { backends, pins } = await withStore(context, async (store) => ({ backends: await store.backends.list(), pins: await pinStates(store) }));
  if (options.json) return printJson(backends.map((spec) => ({ ...view(spec), pins: pins.get(spec.name) })));
  if (backends.length === 0) {
    console.log('no backends yet: add one with mcpgw backend add NAME --url URL (or --command "CMD ARG...")');
    return;
  }
  printTable(
    ["NAME", "TRANSPORT", "TARGET", "TIMEOUT", "PINS"],
    backends.map((spec) => [spec.name, spec.transport, target(spec), formatDuration(spec.timeoutMs), pinSummary(pins.get(spec.name))]),
  );
}

/** `mcpgw backend show NAME`: every field, secrets redacted. */
export async function runBackendShow(context: CommandContext, name: string, options: { json?: boolean }): Promise<void> {
  const { spec, pins } = await withStore(context, async (store) => {
    const found = await requireBackend(store, name);
    return { spec: found, pins: { policy: await store.pins.policy(name), records: await store.pins.list(name) } };
  });
  const shown = view(spec);
  if (options.json) return printJson({ ...shown, pins: pinView(pins.policy, pins.records) });
  const rows: [string, string][] = [
    ["name", shown.name],
    ["transport", shown.transport],
    shown.url !== undefined ? ["url", shown.url] : ["command", target(spec)],
    ["timeout", formatDuration(shown.timeoutMs)],
    ["limits", describeLimits(spec.limits)],
    ["idempotent", spec.idempotentTools?.join(", ") ?? "(per the tools' annotations)"],
    ["auth", describeAuth(spec.auth, spec.url)],
    ["era", `auto: 2026-07-28 or 2025-era, detected on each connect (mcpgw backend test ${spec.name} reports it)`],
    ["headers", keyValues(shown.headers, ": ")],
    ["env", keyValues(shown.env, "=")],
    ["created", shown.createdAt],
    ["updated", shown.updatedAt],
    ["pinning", describePins(pins.policy, pins.records)],
  ];
  for (const [label, value] of rows) console.log(`${`${label}:`.padEnd(11)}${value}`);
  const review = pins.records.filter(needsReview).map(reviewOf);
  if (review.length > 0)
    console.log(
      `${review
        .flatMap(formatReview)
        .map((line) => `           ${line}`)
        .join("\n")}\n           review with: mcpgw backend diff ${name}`,
    );
}

/**
 * `mcpgw backend remove NAME [--yes]`: says which role and limit patterns name the backend (they
 * stay, matching nothing), asks on a terminal, and removes it.
 */
export async function runBackendRemove(context: CommandContext, name: string, options: { yes?: boolean } = {}): Promise<void> {
  const naming = await withStore(context, async (store) => {
    await requireBackend(store, name);
    const naming = await patternsNaming(store, name);
    await confirmDestructive({
      action: `remove backend "${name}"`,
      consequences: naming.map((line) => `leave ${line} matching nothing`),
      yes: options.yes,
      withYes: `mcpgw backend remove ${name} --yes`,
    });
    await store.backends.remove(name);
    return naming;
  });
  console.log(`removed backend "${name}"`);
  if (naming.length > 0) {
    process.stderr.write(`these patterns now match nothing (until a backend "${name}" is added again):\n${naming.map((line) => `  ${line}\n`).join("")}`);
    process.stderr.write("change a role's with: mcpgw role update ROLE --remove-rule 'PATTERN'\n");
  }
}

/** The role rules and limit rules whose backend part names this backend (a bare * is meant for every backend, so it does not count). */
async function patternsNaming(store: Store, name: string): Promise<string[]> {
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

/** `mcpgw backend test NAME`: connects as the gateway would (era detection, initialize or discover) and lists the tools. */
export async function runBackendTest(context: CommandContext, name: string, options: { json?: boolean }): Promise<void> {
  const spec = await withStore(context, (store) => requireBackend(store, name));
  if (spec.auth) {
    throw new UsageError(
      `backend "${name}" takes per-caller credentials (--auth ${spec.auth.mode}): it is reached only as a caller`,
      spec.auth.mode === "token-exchange"
        ? "call it as a client logged in at the identity provider; mcpgw doctor checks its token endpoint"
        : `test it as one: mcpgw call ${name}/TOOL '{}' --as SUBJECT (mcpgw tools list --backend ${name} --as SUBJECT lists its tools)`,
    );
  }
  // The store is closed before connecting: a slow backend must not hold a database connection.
  const result = await probeBackend(spec, { env: process.env, logger: context.adminLogger(), clientVersion: VERSION });
  if (options.json) return printJson({ ok: true, ...result, toolCount: result.tools.length });
  console.log(`backend "${result.backend}" is reachable`);
  console.log(`  server:    ${result.server.name} ${result.server.version}`);
  console.log(`  protocol:  ${result.protocolVersion ?? "unknown"}`);
  console.log(`  era:       ${result.era === "modern" ? "modern (stateless requests, no initialize)" : "legacy (initialize and a session)"}`);
  console.log(`  tools:     ${result.tools.length}`);
  // The names too, one a line under the count: what `mcpgw call BACKEND/TOOL` and role patterns take.
  for (const tool of result.tools) console.log(`             ${tool}`);
  console.log(`  connected: in ${formatDuration(result.connectMs)}`);
}

/** Each backend's pinning policy and pins, by backend. */
async function pinStates(store: Store): Promise<Map<string, ReturnType<typeof pinView>>> {
  const [policies, records] = await Promise.all([store.pins.policies(), store.pins.list()]);
  const byBackend = new Map<string, ReturnType<typeof pinView>>();
  for (const spec of await store.backends.list()) {
    const policy = policies.find((p) => p.backend === spec.name) ?? defaultPinPolicy(spec.name);
    byBackend.set(
      spec.name,
      pinView(
        policy,
        records.filter((r) => r.backend === spec.name),
      ),
    );
  }
  return byBackend;
}

/** The pin state as --json shows it: modes, counts by status, and the definitions that need review. */
function pinView(policy: PinPolicy, records: PinRecord[]) {
  const counts: Record<string, number> = {};
  for (const record of records) counts[record.status] = (counts[record.status] ?? 0) + 1;
  return { pinMode: policy.pinMode, driftMode: policy.driftMode, suspicious: policy.suspicious, counts, review: records.filter(needsReview).map(reviewOf) };
}

function pinSummary(pins: ReturnType<typeof pinView> | undefined): string {
  if (!pins) return "";
  const drift = Object.entries(pins.counts)
    .filter(([status]) => status !== "pinned")
    .map(([status, n]) => `${n} ${status}`);
  return `${pins.driftMode}: ${pins.counts.pinned ?? 0} pinned${drift.length > 0 ? `, ${drift.join(", ")}` : ""}`;
}

function describeLimits(limits: BackendSpec["limits"]): string {
  if (!limits) return "gateway defaults";
  const parts = [
    limits.maxConcurrency !== undefined && `${limits.maxConcurrency} in flight (queue ${limits.maxQueue ?? 100})`,
    limits.maxBodyBytes !== undefined && `request body ≤ ${formatSize(limits.maxBodyBytes)}`,
    limits.maxResponseBytes !== undefined && `messages ≤ ${formatSize(limits.maxResponseBytes)}`,
    limits.maxProcesses !== undefined && `≤ ${limits.maxProcesses} processes`,
  ].filter(Boolean);
  return parts.join(", ") || "gateway defaults";
}

async function requireBackend(store: Store, name: string): Promise<BackendSpec> {
  const spec = await store.backends.get(name);
  if (!spec) throw new NotFoundError(`there is no backend "${name}"`, "list the backends with: mcpgw backend list");
  return spec;
}

function view(spec: BackendSpec): BackendView {
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

/** The URL, or the command line quoted so that it could be pasted back into --command. */
function target(spec: BackendSpec): string {
  if (spec.url !== undefined) return redactUrl(spec.url);
  return (spec.command ?? []).map(shellQuote).join(" ");
}

function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

function keyValues(values: Record<string, string>, separator: string): string {
  const entries = Object.entries(values);
  if (entries.length === 0) return "(none)";
  return entries.map(([key, value]) => `${key}${separator}${value}`).join("\n           ");
}
