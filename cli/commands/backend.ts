import { type BackendInput, parseBackendInput } from "../../src/backends/backend-input.ts";
import { probeBackend } from "../../src/backends/backend-probe.ts";
import type { BackendSpec } from "../../src/backends/backend-spec.ts";
import { hasLiteralSecrets, redactSecrets, redactUrl } from "../../src/backends/secret-refs.ts";
import { formatDuration } from "../../src/config/duration.ts";
import { formatSize } from "../../src/config/size.ts";
import { NotFoundError } from "../../src/errors.ts";
import type { Store } from "../../src/store/store.ts";
import { type CommandContext, withStore } from "../context.ts";
import { printJson, printTable } from "../output.ts";
import { VERSION } from "../version.ts";

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
  /** Which protocol era the gateway speaks to it: "auto", detected on each connect (backend test reports the result). */
  era: "auto";
  createdAt: string;
  updatedAt: string;
}

/** `mcpgw backend add NAME …`: validates the flags and registers the backend. */
export async function runBackendAdd(context: CommandContext, name: string, options: Omit<BackendInput, "name">): Promise<void> {
  const spec = parseBackendInput({ ...options, name });
  await withStore(context, (store) => store.backends.add(spec));
  console.log(`added backend "${spec.name}" (${spec.transport}: ${target(spec)})`);
  if (hasLiteralSecrets(spec.headers) || hasLiteralSecrets(spec.env)) {
    process.stderr.write(
      "note: some header or env values are stored as given, in the database; for secrets prefer ${VAR} references, resolved from the gateway's environment\n",
    );
  }
  process.stderr.write(`check it with: mcpgw backend test ${spec.name}\n`);
}

/** `mcpgw backend list`: a table for people, an array for scripts. */
export async function runBackendList(context: CommandContext, options: { json?: boolean }): Promise<void> {
  const backends = await withStore(context, (store) => store.backends.list());
  if (options.json) return printJson(backends.map(view));
  if (backends.length === 0) {
    console.log('no backends yet: add one with mcpgw backend add NAME --url URL (or --command "CMD ARG...")');
    return;
  }
  printTable(
    ["NAME", "TRANSPORT", "TARGET", "TIMEOUT"],
    backends.map((spec) => [spec.name, spec.transport, target(spec), formatDuration(spec.timeoutMs)]),
  );
}

/** `mcpgw backend show NAME`: every field, secrets redacted. */
export async function runBackendShow(context: CommandContext, name: string, options: { json?: boolean }): Promise<void> {
  const spec = await withStore(context, (store) => requireBackend(store, name));
  const shown = view(spec);
  if (options.json) return printJson(shown);
  const rows: [string, string][] = [
    ["name", shown.name],
    ["transport", shown.transport],
    shown.url !== undefined ? ["url", shown.url] : ["command", target(spec)],
    ["timeout", formatDuration(shown.timeoutMs)],
    ["limits", describeLimits(spec.limits)],
    ["idempotent", spec.idempotentTools?.join(", ") ?? "(per the tools' annotations)"],
    ["era", `auto: 2026-07-28 or 2025-era, detected on each connect (mcpgw backend test ${spec.name} reports it)`],
    ["headers", keyValues(shown.headers, ": ")],
    ["env", keyValues(shown.env, "=")],
    ["created", shown.createdAt],
    ["updated", shown.updatedAt],
  ];
  for (const [label, value] of rows) console.log(`${`${label}:`.padEnd(11)}${value}`);
}

/** `mcpgw backend remove NAME`. */
export async function runBackendRemove(context: CommandContext, name: string): Promise<void> {
  await withStore(context, (store) => store.backends.remove(name));
  console.log(`removed backend "${name}"`);
}

/** `mcpgw backend test NAME`: connects as the gateway would (era detection, initialize or discover) and lists the tools. */
export async function runBackendTest(context: CommandContext, name: string, options: { json?: boolean }): Promise<void> {
  const spec = await withStore(context, (store) => requireBackend(store, name));
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
