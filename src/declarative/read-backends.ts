import { type BackendInput, parseBackendInput } from "../backends/backend-input.ts";
import { DRIFT_MODES, PIN_MODES, type PinModes, SUSPICIOUS_MODES } from "../pinning/pin-record.ts";
import type { FieldReader } from "./document-fields.ts";
import type { DeclaredBackend } from "./gateway-state.ts";
import type { Path } from "./problems.ts";
import { quoteCommandWord } from "./value-formats.ts";

const BACKEND_FIELDS = ["name", "url", "transport", "command", "env", "headers", "timeout", "limits", "idempotentTools", "auth", "pinning"] as const;
const AUTH_FIELDS = ["mode", "header", "audience", "tokenEndpoint", "scope", "clientId", "clientSecret"] as const;
/** Each pinning mode: its values, and the `backend add` flag that sets it (for the hint). */
const PINNING_MODES = {
  pinMode: { values: PIN_MODES, flag: "--pin-mode", what: "pin mode" },
  driftMode: { values: DRIFT_MODES, flag: "--drift-mode", what: "drift mode" },
  suspicious: { values: SUSPICIOUS_MODES, flag: "--suspicious", what: "suspicious-text mode" },
} as const satisfies Record<keyof PinModes, { values: readonly string[]; flag: string; what: string }>;
const PINNING_FIELDS = Object.keys(PINNING_MODES) as (keyof PinModes)[];
const LIMIT_FIELDS = ["maxConcurrency", "maxQueue", "maxBody", "maxResponse", "maxProcesses"] as const;
const ENV_HINT = "env maps variable names (letters, digits and _) to values, e.g. GITHUB_TOKEN: ${GITHUB_TOKEN}";
const HEADERS_HINT =
  "headers map header names to one-line values, e.g. Authorization: Bearer ${API_KEY} (mcpgw sets Accept, Content-Type and the MCP headers itself)";

/**
 * The document's field for each `backend add` flag, longest flag first so that --max-queue is
 * not read as --max-… of another. parseBackendInput's messages name flags; in a document they
 * name these fields, and the first flag a message names is the field at fault.
 */
const FIELD_OF_FLAG: readonly (readonly [string, readonly string[]])[] = [
  ["--assertion-audience", ["auth", "audience"]],
  ["--exchange-audience", ["auth", "audience"]],
  ["--token-endpoint", ["auth", "tokenEndpoint"]],
  ["--exchange-scope", ["auth", "scope"]],
  ["--client-secret", ["auth", "clientSecret"]],
  ["--client-id", ["auth", "clientId"]],
  ["--idempotent-tool", ["idempotentTools"]],
  ["--max-concurrency", ["limits", "maxConcurrency"]],
  ["--max-processes", ["limits", "maxProcesses"]],
  ["--max-response", ["limits", "maxResponse"]],
  ["--max-queue", ["limits", "maxQueue"]],
  ["--max-body", ["limits", "maxBody"]],
  ["--transport", ["transport"]],
  ["--command", ["command"]],
  ["--timeout", ["timeout"]],
  ["--auth-header", ["auth", "header"]],
  ["--header", ["headers"]],
  ["--auth", ["auth", "mode"]],
  ["--env", ["env"]],
  ["--url", ["url"]],
];

/** A parseBackendInput message in the document's words: `--max-queue needs --max-concurrency` → `limits.maxQueue needs limits.maxConcurrency`. */
export function inDocumentTerms(text: string): string {
  let result = text;
  for (const [flag, field] of FIELD_OF_FLAG) result = result.replaceAll(flag, field.join("."));
  return result;
}

/** The field a parseBackendInput message is about: the first flag it names, the name, or else the backend entry itself. */
function fieldOf(message: string): readonly string[] {
  let best: { at: number; field: readonly string[] } | undefined;
  for (const [flag, field] of FIELD_OF_FLAG) {
    const at = message.indexOf(flag);
    if (at >= 0 && (!best || at < best.at)) best = { at, field };
  }
  return best?.field ?? (message.includes("backend name") ? ["name"] : []);
}

/**
 * The `backends:` section. Each entry is turned into the flags of `mcpgw backend add` and checked
 * by the same parseBackendInput, so a document accepts exactly what the command accepts.
 */
export function readBackends(reader: FieldReader, items: unknown[], now: number): DeclaredBackend[] {
  const backends: DeclaredBackend[] = [];
  const seen = new Map<string, number>();
  items.forEach((item, index) => {
    const path = ["backends", index];
    const fields = reader.map(item, path, "a backend", BACKEND_FIELDS);
    if (!fields) return;
    const name = reader.text(fields.name, [...path, "name"], "the backend name", { required: true });
    if (name === undefined) return;
    const first = seen.get(name);
    if (first !== undefined) reader.report([...path, "name"], `backend "${name}" is declared twice (also backends[${first}])`, "declare each backend once");
    seen.set(name, index);
    const pinning = readPinning(reader, fields.pinning, [...path, "pinning"]);
    const input = backendInput(reader, fields, path, name);
    if (!input) return;
    const spec = reader.check(
      (message) => [...path, ...fieldOf(message)],
      () => parseBackendInput(input, now),
      inDocumentTerms,
    );
    if (spec && pinning) backends.push(Object.keys(pinning).length > 0 ? { ...spec, pinning } : spec);
  });
  return backends;
}

/** The flags of `backend add` that this entry stands for (bad env, header and glob entries left out); undefined when a field has the wrong type. */
function backendInput(reader: FieldReader, fields: Record<string, unknown>, path: Path, name: string): BackendInput | undefined {
  const before = reader.problems.length;
  const url = reader.text(fields.url, [...path, "url"], "url");
  const transport = reader.text(fields.transport, [...path, "transport"], "transport");
  const command = readCommand(reader, fields.command, [...path, "command"]);
  const timeout = reader.textOrNumber(fields.timeout, [...path, "timeout"], "timeout");
  const env = reader.textMap(fields.env, [...path, "env"], "env");
  const headers = reader.textMap(fields.headers, [...path, "headers"], "headers");
  const limits = fields.limits === undefined ? {} : reader.map(fields.limits, [...path, "limits"], "backend limits", LIMIT_FIELDS);
  const limit = (key: (typeof LIMIT_FIELDS)[number]) => reader.textOrNumber(limits?.[key], [...path, "limits", key], `limits.${key}`);
  const limitValues = {
    maxConcurrency: limit("maxConcurrency"),
    maxQueue: limit("maxQueue"),
    maxBody: limit("maxBody"),
    maxResponse: limit("maxResponse"),
    maxProcesses: limit("maxProcesses"),
  };
  const idempotent = fields.idempotentTools === undefined ? undefined : reader.list(fields.idempotentTools, [...path, "idempotentTools"], "idempotentTools");
  const globs = idempotent?.map((glob, i) => reader.text(glob, [...path, "idempotentTools", i], "a tool glob", { required: true }));
  const auth = fields.auth === undefined ? {} : reader.map(fields.auth, [...path, "auth"], "backend auth", AUTH_FIELDS);
  const authValues = {
    auth: reader.text(auth?.mode, [...path, "auth", "mode"], "auth.mode", { required: fields.auth !== undefined }),
    authHeader: reader.text(auth?.header, [...path, "auth", "header"], "auth.header"),
    audience: reader.text(auth?.audience, [...path, "auth", "audience"], "auth.audience"),
    tokenEndpoint: reader.text(auth?.tokenEndpoint, [...path, "auth", "tokenEndpoint"], "auth.tokenEndpoint"),
    exchangeScope: reader.text(auth?.scope, [...path, "auth", "scope"], "auth.scope"),
    clientId: reader.text(auth?.clientId, [...path, "auth", "clientId"], "auth.clientId"),
    clientSecret: reader.text(auth?.clientSecret, [...path, "auth", "clientSecret"], "auth.clientSecret"),
  };
  // `audience` is the assertion's or the exchange's, by mode.
  const audienceFlag = authValues.auth === "token-exchange" ? "exchangeAudience" : "assertionAudience";
  if (reader.problems.length > before) return undefined;
  // Each env, header and tool-glob entry is checked alone first, in a stand-in backend so that only
  // the entry can be wrong: a bad one is reported at its own place and left out, the rest still checked.
  const envItems = Object.entries(env ?? {}).flatMap(([key, value]) => {
    const item = `${key}=${value}`;
    return reader.check([...path, "env", key], () => parseBackendInput({ name: "entry", command: "true", env: [item] }), inDocumentTerms, ENV_HINT)
      ? [item]
      : [];
  });
  const headerItems = Object.entries(headers ?? {}).flatMap(([key, value]) => {
    const item = `${key}: ${value}`;
    return reader.check(
      [...path, "headers", key],
      () => parseBackendInput({ name: "entry", url: "http://127.0.0.1/", header: [item] }),
      inDocumentTerms,
      HEADERS_HINT,
    )
      ? [item]
      : [];
  });
  const globItems = globs?.flatMap((glob, i) =>
    glob !== undefined &&
    reader.check([...path, "idempotentTools", i], () => parseBackendInput({ name: "entry", command: "true", idempotentTool: [glob] }), inDocumentTerms)
      ? [glob]
      : [],
  );
  return {
    name,
    ...(url !== undefined && { url }),
    // `transport: stdio` says what `command` implies; the flags have no way to say it, so it is dropped.
    ...(transport !== undefined && !(transport === "stdio" && command !== undefined) && { transport }),
    ...(command !== undefined && { command }),
    ...(timeout !== undefined && { timeout }),
    ...(env && { env: envItems }),
    ...(headers && { header: headerItems }),
    ...(globItems && { idempotentTool: globItems }),
    ...definedEntry("maxConcurrency", limitValues.maxConcurrency),
    ...definedEntry("maxQueue", limitValues.maxQueue),
    ...definedEntry("maxBody", limitValues.maxBody),
    ...definedEntry("maxResponse", limitValues.maxResponse),
    ...definedEntry("maxProcesses", limitValues.maxProcesses),
    ...definedEntry("auth", authValues.auth),
    ...definedEntry("authHeader", authValues.authHeader),
    ...definedEntry(audienceFlag, authValues.audience),
    ...definedEntry("tokenEndpoint", authValues.tokenEndpoint),
    ...definedEntry("exchangeScope", authValues.exchangeScope),
    ...definedEntry("clientId", authValues.clientId),
    ...definedEntry("clientSecret", authValues.clientSecret),
  };
}

/**
 * `pinning:`, the modes of `backend add --pin-mode --drift-mode --suspicious`; each one left out
 * stays as it is. Undefined when a mode is not one of its values (reported at its field).
 */
function readPinning(reader: FieldReader, value: unknown, path: Path): Partial<PinModes> | undefined {
  if (value === undefined) return {};
  const fields = reader.map(value, path, "backend pinning", PINNING_FIELDS);
  if (!fields) return undefined;
  const modes: Partial<Record<keyof PinModes, string>> = {};
  let valid = true;
  for (const field of PINNING_FIELDS) {
    const { values, flag, what } = PINNING_MODES[field];
    const text = reader.text(fields[field], [...path, field], `pinning.${field}`);
    if (text === undefined) {
      valid &&= fields[field] === undefined || fields[field] === null;
      continue;
    }
    if (!(values as readonly string[]).includes(text)) {
      reader.report(
        [...path, field],
        `${what} "${text}" is not one of ${values.join(", ")}`,
        `write one of ${values.join(", ")} (as mcpgw backend add ${flag} takes)`,
      );
      valid = false;
      continue;
    }
    modes[field] = text;
  }
  return valid ? (modes as Partial<PinModes>) : undefined;
}

/** `command:` as one string (split like a shell, as --command is) or as a list of words (taken as they are). */
function readCommand(reader: FieldReader, value: unknown, path: Path): string | undefined {
  if (!Array.isArray(value)) return reader.text(value, path, "command");
  const words = value.map((word, i) => reader.text(word, [...path, i], "a command word", { required: true }));
  if (words.some((word) => word === undefined)) return undefined;
  // Quoted so that parseBackendInput's shell-like split gives back exactly these words.
  return (words as string[]).map(quoteCommandWord).join(" ");
}

function definedEntry<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}
