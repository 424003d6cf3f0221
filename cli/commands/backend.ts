import { hasLiteralSecrets } from "../../src/backends/secret-refs.ts";
import { formatDuration } from "../../src/config/duration.ts";
import { describeAuth } from "../../src/credentials/backend-auth.ts";
import { formatSize } from "../../src/config/size.ts";
import { type BackendFlags, type BackendView, backendTarget as target } from "../../src/operator-calls/backend-service.ts";
import type { BackendPinState } from "../../src/operator-calls/backend-pin-state.ts";
import type { PinModes } from "../../src/pinning/pin-record.ts";
import { formatReview } from "../../src/pinning/pin-review.ts";
import { confirmDestructive } from "../confirm.ts";
import type { CommandContext } from "../context.ts";
import { operationsOf } from "../operations/operations-of.ts";
import type { ProbeView } from "../operations/operations.ts";
import { printJson, printTable } from "../output.ts";
import { describePins } from "./backend-pins.ts";

export type { BackendFlags };

/** The per-caller credential mode, absent for a static backend (the view says "static"). */
function authOf(backend: BackendView) {
  return backend.auth.mode === "static" ? undefined : (backend.auth as Exclude<BackendView["auth"], { mode: "static" }>);
}

/**
 * `mcpgw backend add NAME …`: validates the flags, tests the backend as `backend test` does
 * (connect, initialize or discover, list tools) unless --no-test, and registers it. A failed
 * test saves nothing and says why and how to skip the test.
 */
export async function runBackendAdd(context: CommandContext, name: string, options: BackendFlags): Promise<void> {
  const { backend, pinning, tested } = await operationsOf(context).backends.add(name, options);
  console.log(`added backend "${backend.name}" (${backend.transport}: ${target(backend)})`);
  if (pinning?.pinMode === "explicit")
    process.stderr.write(`pinning is explicit: its definitions are held back until you run mcpgw backend pin ${backend.name}\n`);
  noteLiteralSecrets(backend);
  process.stderr.write(tested ? `tested: ${describeProbe(tested)}\n` : notTested(backend));
}

/**
 * `mcpgw backend update NAME …`: changes only what the flags give (repeatable flags replace their
 * whole list; --unset returns a setting to its default), validates the result as `add` does and
 * tests it unless --no-test. Running gateways reconnect the backend within a second.
 */
export async function runBackendUpdate(context: CommandContext, name: string, options: BackendFlags & { unset: string[] }): Promise<void> {
  const pinLine = (policy: PinModes | undefined) =>
    console.log(
      `backend "${name}" pinning: ${policy?.pinMode}, drift ${policy?.driftMode}, suspicious ${policy?.suspicious} (running gateways apply it within a second)`,
    );
  const { backend: after, changed, dropped, tested } = await operationsOf(context).backends.update(name, options, pinLine);
  if (changed.length === 0) {
    // Only pinning modes were given (already said), or the settings given are the ones it has.
    if (settingsGiven(options)) console.log(`backend "${name}" already has these settings: nothing changed`);
    return;
  }
  console.log(`updated backend "${name}": ${changed.join(", ")} (running gateways reconnect it within a second)`);
  if (dropped.length > 0)
    process.stderr.write(`note: dropped ${dropped.join(" and ")}, which ${dropped.length === 1 ? "applies" : "apply"} only to the other kind of backend\n`);
  noteLiteralSecrets(after);
  process.stderr.write(tested ? `tested: ${describeProbe(tested)}\n` : notTested(after));
}

/** Settings (not only pinning modes) were given. */
function settingsGiven(options: BackendFlags & { unset: string[] }): boolean {
  const { test: _test, pinMode: _p, driftMode: _d, suspicious: _s, unset, ...flags } = options;
  return unset.length > 0 || Object.values(flags).some((value) => (Array.isArray(value) ? value.length > 0 : value !== undefined));
}

/** Why a backend was saved untested, and how to check it. */
function notTested(backend: BackendView): string {
  const auth = authOf(backend);
  // A per-caller backend is only ever reached as a caller: there is no credential to test it with here.
  if (auth?.mode === "token-exchange") {
    return `not tested: it takes per-caller credentials (--auth token-exchange); mcpgw doctor checks its token endpoint, and a caller with an identity-provider login can call it\n`;
  }
  if (auth) {
    return `not tested: it takes per-caller credentials (--auth ${auth.mode}); check it as a caller: mcpgw call ${backend.name}/TOOL '{}' --as SUBJECT\n`;
  }
  return `not tested (--no-test); check it with: mcpgw backend test ${backend.name}\n`;
}

function describeProbe(probe: ProbeView): string {
  return `${probe.server.name} ${probe.server.version} answered over ${probe.transport} (${probe.era === "modern" ? "2026-07-28, stateless" : `protocol ${probe.protocolVersion ?? "unknown"}`}) with ${probe.tools.length} tool${probe.tools.length === 1 ? "" : "s"} in ${formatDuration(probe.connectMs)}`;
}

/** A literal value is redacted in the view, and a redacted value is never a ${VAR} reference: the view tells as the spec would. */
function noteLiteralSecrets(backend: BackendView): void {
  if (hasLiteralSecrets(backend.headers) || hasLiteralSecrets(backend.env)) {
    process.stderr.write(
      "note: some header or env values are stored as given, in the database; for secrets prefer ${VAR} references, resolved from the gateway's environment\n",
    );
  }
}

/** `mcpgw backend list`: a table for people, an array for scripts. */
export async function runBackendList(context: CommandContext, options: { json?: boolean }): Promise<void> {
  const backends = await operationsOf(context).backends.list();
  if (options.json) return printJson(backends);
  if (backends.length === 0) {
    console.log('no backends yet: add one with mcpgw backend add NAME --url URL (or --command "CMD ARG...")');
    return;
  }
  printTable(
    ["NAME", "TRANSPORT", "TARGET", "TIMEOUT", "PINS"],
    backends.map((backend) => [backend.name, backend.transport, target(backend), formatDuration(backend.timeoutMs), pinSummary(backend.pins)]),
  );
}

/** `mcpgw backend show NAME`: every field, secrets redacted. */
export async function runBackendShow(context: CommandContext, name: string, options: { json?: boolean }): Promise<void> {
  const shown = await operationsOf(context).backends.show(name);
  if (options.json) return printJson(shown);
  const rows: [string, string][] = [
    ["name", shown.name],
    ["transport", shown.transport],
    shown.url !== undefined ? ["url", shown.url] : ["command", target(shown)],
    ["timeout", formatDuration(shown.timeoutMs)],
    ["limits", describeLimits(shown.limits)],
    ["idempotent", shown.idempotentTools?.join(", ") ?? "(per the tools' annotations)"],
    ["auth", describeAuth(authOf(shown), shown.url)],
    ["era", `auto: 2026-07-28 or 2025-era, detected on each connect (mcpgw backend test ${shown.name} reports it)`],
    ["headers", keyValues(shown.headers, ": ")],
    ["env", keyValues(shown.env, "=")],
    ["created", shown.createdAt],
    ["updated", shown.updatedAt],
    ["pinning", describePins(shown.pins)],
  ];
  for (const [label, value] of rows) console.log(`${`${label}:`.padEnd(11)}${value}`);
  const review = shown.pins.review;
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
  const naming = await operationsOf(context).backends.remove(name, (unmatched) =>
    confirmDestructive({
      action: `remove backend "${name}"`,
      consequences: unmatched.map((line) => `leave ${line} matching nothing`),
      yes: options.yes,
      withYes: `mcpgw backend remove ${name} --yes`,
    }),
  );
  console.log(`removed backend "${name}"`);
  if (naming.length > 0) {
    process.stderr.write(`these patterns now match nothing (until a backend "${name}" is added again):\n${naming.map((line) => `  ${line}\n`).join("")}`);
    process.stderr.write("change a role's with: mcpgw role update ROLE --remove-rule 'PATTERN'\n");
  }
}

/** `mcpgw backend test NAME`: connects as the gateway would (era detection, initialize or discover) and lists the tools. */
export async function runBackendTest(context: CommandContext, name: string, options: { json?: boolean }): Promise<void> {
  const result = await operationsOf(context).backends.test(name);
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

function pinSummary(pins: BackendPinState | undefined): string {
  if (!pins) return "";
  const drift = Object.entries(pins.counts)
    .filter(([status]) => status !== "pinned")
    .map(([status, n]) => `${n} ${status}`);
  return `${pins.driftMode}: ${pins.counts.pinned ?? 0} pinned${drift.length > 0 ? `, ${drift.join(", ")}` : ""}`;
}

function describeLimits(limits: BackendView["limits"]): string {
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
