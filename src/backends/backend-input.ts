import { parseSize } from "../config/size.ts";
import { parseDuration } from "../config/duration.ts";
import { type BackendAuthInput, parseBackendAuth } from "../credentials/backend-auth.ts";
import { ConfigError, UsageError } from "../errors.ts";
import { type BackendLimits, type BackendSpec, type BackendTransportKind, DEFAULT_BACKEND_TIMEOUT_MS, assertBackendName } from "./backend-spec.ts";

/** A backend as an operator writes it (the flags of `mcpgw backend add`), before validation. */
export interface BackendInput extends BackendAuthInput {
  name: string;
  url?: string;
  transport?: string;
  /** One string, split like a shell does: `npx -y "@scope/server" --root '/my dir'`. */
  command?: string;
  /** "KEY=VALUE" items. */
  env?: string[];
  /** "Name: value" items. */
  header?: string[];
  /** "30s", "2m"… */
  timeout?: string;
  /** Load protection: whole numbers and sizes ("1MiB"). */
  maxConcurrency?: string;
  maxQueue?: string;
  maxBody?: string;
  maxResponse?: string;
  /** stdio: the backend's own process cap (whole number ≥ 2). */
  maxProcesses?: string;
  /** Tool-name globs whose interrupted jobs may be retried. */
  idempotentTool?: string[];
}

const HTTP_TRANSPORTS = ["streamable-http", "sse"] as const satisfies readonly BackendTransportKind[];
const MAX_TIMEOUT_MS = 3_600_000;
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
// RFC 9110 token characters.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// The client transport sets these itself; an operator's value would break the protocol (or the session).
const RESERVED_HEADERS = new Set(["accept", "content-type", "content-length", "host", "mcp-session-id", "mcp-protocol-version", "last-event-id"]);

const TARGET_HINT = 'use --url URL for an HTTP backend (e.g. --url https://mcp.example.com/mcp) or --command "CMD ARG..." for a stdio one';

/** Validates operator input into a BackendSpec; a UsageError says what is wrong and shows the right form. */
export function parseBackendInput(input: BackendInput, now: number = Date.now()): BackendSpec {
  assertBackendName(input.name);
  const env = parseEnv(input.env ?? []);
  const headers = parseHeaders(input.header ?? []);
  const timeoutMs = parseTimeout(input.timeout);
  const limits = parseLimits(input);
  const idempotentTools = parseToolGlobs(input.idempotentTool ?? []);
  const base = {
    name: input.name,
    env,
    headers,
    timeoutMs,
    ...(limits && { limits }),
    ...(idempotentTools.length > 0 && { idempotentTools }),
    createdAt: now,
    updatedAt: now,
  };

  if (input.url !== undefined && input.command !== undefined) {
    throw new UsageError("give either --url or --command, not both", TARGET_HINT);
  }
  if (input.url !== undefined) {
    if (Object.keys(env).length > 0) {
      throw new UsageError("--env applies only to --command (stdio) backends", "pass settings to an HTTP backend with --header, or drop --env");
    }
    if (limits?.maxProcesses !== undefined) {
      throw new UsageError(
        "--max-processes applies only to --command (stdio) backends",
        "an HTTP backend starts no processes: drop --max-processes (--max-concurrency caps its calls)",
      );
    }
    const auth = parseBackendAuth(input, "http", headers);
    return { ...base, transport: parseHttpTransport(input.transport), url: parseUrl(input.url), ...(auth && { auth }) };
  }
  if (input.command !== undefined) {
    if (input.transport !== undefined) {
      throw new UsageError("--transport applies only with --url", "a --command backend always speaks stdio: drop --transport");
    }
    if (Object.keys(headers).length > 0) {
      throw new UsageError("--header applies only to --url backends", "pass settings to a stdio backend with --env KEY=VALUE, or drop --header");
    }
    parseBackendAuth(input, "stdio", headers);
    return { ...base, transport: "stdio", command: parseCommand(input.command) };
  }
  throw new UsageError(`backend "${input.name}" needs --url or --command`, TARGET_HINT);
}

/** Splits a command line into words like a POSIX shell: quotes group, backslash escapes; no expansion. */
export function splitCommandLine(text: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quote === "'") {
      if (char === "'") quote = undefined;
      else word += char;
    } else if (quote === '"') {
      if (char === '"') quote = undefined;
      // Inside double quotes a backslash escapes only what a shell lets it escape.
      else if (char === "\\" && i + 1 < text.length && '"\\$`'.includes(text[i + 1]!)) word += text[++i];
      else word += char;
    } else if (char === "'" || char === '"') {
      quote = char;
      inWord = true;
    } else if (char === "\\") {
      if (i + 1 === text.length)
        throw new UsageError("--command ends with a lone backslash", "escape it as \\\\ or quote the argument: --command \"prog 'C:\\dir'\"");
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(char)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += char;
      inWord = true;
    }
  }
  if (quote)
    throw new UsageError(`--command has an unterminated ${quote === "'" ? "single" : "double"} quote`, `close the quote: --command "npx -y 'my server'"`);
  if (inWord) words.push(word);
  return words;
}

function parseCommand(text: string): string[] {
  const words = splitCommandLine(text);
  if (words.length === 0 || words[0] === "") {
    throw new UsageError(
      "--command is empty",
      'give the program and its arguments as one string, e.g. --command "npx -y @modelcontextprotocol/server-everything"',
    );
  }
  return words;
}

function parseHttpTransport(text: string | undefined): BackendTransportKind {
  if (text === undefined) return "streamable-http";
  if ((HTTP_TRANSPORTS as readonly string[]).includes(text)) return text as BackendTransportKind;
  throw new UsageError(
    `--transport "${text}" is not an HTTP transport`,
    `use --transport ${HTTP_TRANSPORTS.join(" or --transport ")} (streamable-http is the default); for stdio use --command`,
  );
}

function parseUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--url "${text}" is not a URL`, "use an absolute http(s) URL, e.g. --url https://mcp.example.com/mcp");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`--url "${text}" is not an http(s) URL`, "use an absolute http(s) URL, e.g. --url https://mcp.example.com/mcp");
  }
  return url.href;
}

function parseEnv(items: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf("=");
    const key = eq < 0 ? item : item.slice(0, eq);
    if (eq < 0 || !ENV_KEY.test(key)) {
      // Without "=" the item may be a pasted secret, so it is not echoed.
      throw new UsageError(
        eq < 0 ? '--env needs KEY=VALUE and got an item without "="' : `--env key "${key}" is not a variable name`,
        "use --env KEY=VALUE with a key of letters, digits and _ (e.g. --env GITHUB_TOKEN=${GITHUB_TOKEN})",
      );
    }
    if (key in env) throw new UsageError(`--env ${key} is given twice`, "give each variable once");
    env[key] = item.slice(eq + 1);
  }
  return env;
}

function parseHeaders(items: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  const seen = new Set<string>();
  for (const item of items) {
    const colon = item.indexOf(":");
    const name = (colon < 0 ? item : item.slice(0, colon)).trim();
    const value = colon < 0 ? "" : item.slice(colon + 1).trim();
    if (colon < 0 || !HEADER_NAME.test(name)) {
      throw new UsageError(
        `--header "${colon < 0 ? "…" : name}" is not "Name: value"`,
        'use --header "Name: value" with a valid header name, e.g. --header "Authorization: Bearer ${API_KEY}"',
      );
    }
    if (value === "" || /[\r\n\0]/.test(value)) {
      throw new UsageError(`--header ${name} has an empty or multi-line value`, 'give a one-line value, e.g. --header "Authorization: Bearer ${API_KEY}"');
    }
    const lower = name.toLowerCase();
    if (RESERVED_HEADERS.has(lower)) throw new UsageError(`--header ${name} is set by the MCP transport itself`, "drop this header; mcpgw manages it");
    if (seen.has(lower)) throw new UsageError(`--header ${name} is given twice`, "give each header once");
    seen.add(lower);
    headers[name] = value;
  }
  return headers;
}

function parseTimeout(text: string | undefined): number {
  if (text === undefined) return DEFAULT_BACKEND_TIMEOUT_MS;
  let ms: number;
  try {
    ms = parseDuration(text, "--timeout");
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message, err.hint);
    throw err;
  }
  if (ms <= 0 || ms > MAX_TIMEOUT_MS) throw new UsageError(`--timeout "${text}" is out of range`, "use a duration above 0 and at most 1h, e.g. --timeout 30s");
  return ms;
}

function parseLimits(input: BackendInput): BackendLimits | undefined {
  const count = (text: string | undefined, flag: string) => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`${flag} "${text}" is not a whole number ≥ 1`, `e.g. ${flag} 8`);
    return n;
  };
  const size = (text: string | undefined, flag: string) => (text === undefined ? undefined : parseSize(text, flag));
  const limits: BackendLimits = {
    ...definedEntry("maxConcurrency", count(input.maxConcurrency, "--max-concurrency")),
    ...definedEntry("maxQueue", count(input.maxQueue, "--max-queue")),
    ...definedEntry("maxBodyBytes", size(input.maxBody, "--max-body")),
    ...definedEntry("maxResponseBytes", size(input.maxResponse, "--max-response")),
    ...definedEntry("maxProcesses", processCap(input.maxProcesses)),
  };
  if (limits.maxQueue !== undefined && limits.maxConcurrency === undefined) {
    throw new UsageError("--max-queue needs --max-concurrency", "the queue holds calls waiting for one of the --max-concurrency slots");
  }
  return Object.keys(limits).length > 0 ? limits : undefined;
}

function processCap(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 2) {
    throw new UsageError(
      `--max-processes "${text}" is not a whole number ≥ 2`,
      "one process is always kept for the connection sessions share, so use 2 or more, e.g. --max-processes 8",
    );
  }
  return n;
}

function definedEntry<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

// MCP tool names are 1-128 of [A-Za-z0-9_.-]; a glob adds * and ?.
const TOOL_GLOB = /^[A-Za-z0-9_.*?-]{1,128}$/;

function parseToolGlobs(globs: string[]): string[] {
  for (const glob of globs) {
    if (!TOOL_GLOB.test(glob)) {
      throw new UsageError(
        `--idempotent-tool "${glob}" is not a tool name or glob`,
        "use the tool's name as the backend lists it, or a glob such as 'get_*' (letters, digits, _ . - * ?)",
      );
    }
  }
  return [...new Set(globs)];
}
