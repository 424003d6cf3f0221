import type { ProbeResult } from "../../src/backends/backend-probe.ts";
import type { BackendSpec } from "../../src/backends/backend-spec.ts";
import { hasLiteralSecrets } from "../../src/backends/secret-refs.ts";
import { formatDuration } from "../../src/config/duration.ts";
import { describeAuth } from "../../src/credentials/backend-auth.ts";
import { formatSize } from "../../src/config/size.ts";
import { processEnvironment } from "../../src/config/env.ts";
import {
  type BackendFlags,
  type ProbeContext,
  type UseStore,
  addBackend,
  backendTarget as target,
  backendView as view,
  patternsNaming,
  requireBackend,
  testBackend,
  updateBackend,
} from "../../src/operator-calls/backend-service.ts";
import type { Store } from "../../src/store/store.ts";
import { type PinPolicy, type PinRecord, defaultPinPolicy } from "../../src/pinning/pin-record.ts";
import { formatReview, needsReview, reviewOf } from "../../src/pinning/pin-review.ts";
import { confirmDestructive } from "../confirm.ts";
import { type CommandContext, withStore } from "../context.ts";
import { printJson, printTable } from "../output.ts";
import { VERSION } from "../version.ts";
import { describePins } from "./backend-pins.ts";

export type { BackendFlags };

/** Each step opens the store and closes it again: none is held while a slow backend is tested. */
function useStore(context: CommandContext): UseStore {
  return (fn) => withStore(context, fn);
}

/** How `backend add` and `update` test: ${VAR}s resolve as the gateway would resolve them here (this environment and ./.env). */
function probeContext(context: CommandContext): ProbeContext {
  return { env: processEnvironment(), logger: context.adminLogger(), clientVersion: VERSION };
}

/**
 * `mcpgw backend add NAME …`: validates the flags, tests the backend as `backend test` does
 * (connect, initialize or discover, list tools) unless --no-test, and registers it. A failed
 * test saves nothing and says why and how to skip the test.
 */
export async function runBackendAdd(context: CommandContext, name: string, options: BackendFlags): Promise<void> {
  const { spec, policy, probe } = await addBackend(useStore(context), name, options, probeContext(context));
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
  const pinLine = (policy: PinPolicy | undefined) =>
    console.log(
      `backend "${name}" pinning: ${policy?.pinMode}, drift ${policy?.driftMode}, suspicious ${policy?.suspicious} (running gateways apply it within a second)`,
    );
  const { after, changed, dropped, probe } = await updateBackend(useStore(context), name, options, probeContext(context), pinLine);
  if (!after) {
    // Only pinning modes were given (already said), or the settings given are the ones it has.
    if (settingsGiven(options)) console.log(`backend "${name}" already has these settings: nothing changed`);
    return;
  }
  console.log(`updated backend "${name}": ${changed.join(", ")} (running gateways reconnect it within a second)`);
  if (dropped.length > 0)
    process.stderr.write(`note: dropped ${dropped.join(" and ")}, which ${dropped.length === 1 ? "applies" : "apply"} only to the other kind of backend\n`);
  noteLiteralSecrets(after);
  process.stderr.write(probe ? `tested: ${describeProbe(probe)}\n` : notTested(after));
}

/** Settings (not only pinning modes) were given. */
function settingsGiven(options: BackendFlags & { unset: string[] }): boolean {
  const { test: _test, pinMode: _p, driftMode: _d, suspicious: _s, unset, ...flags } = options;
  return unset.length > 0 || Object.values(flags).some((value) => (Array.isArray(value) ? value.length > 0 : value !== undefined));
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

/** `mcpgw backend test NAME`: connects as the gateway would (era detection, initialize or discover) and lists the tools. */
export async function runBackendTest(context: CommandContext, name: string, options: { json?: boolean }): Promise<void> {
  const spec = await withStore(context, (store) => requireBackend(store, name));
  // The store is closed before connecting: a slow backend must not hold a database connection.
  const result = await testBackend(spec, { env: process.env, logger: context.adminLogger(), clientVersion: VERSION });
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

function keyValues(values: Record<string, string>, separator: string): string {
  const entries = Object.entries(values);
  if (entries.length === 0) return "(none)";
  return entries.map(([key, value]) => `${key}${separator}${value}`).join("\n           ");
}
