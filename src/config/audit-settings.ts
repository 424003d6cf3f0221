import { ConfigError } from "../errors.ts";
import { type EnvSettings, variableName } from "./env.ts";

/** The audit log's defaults, in one place. */
export const AUDIT_DEFAULTS = {
  enabled: true,
  failOpen: false,
  /** Argument keys whose values are never written (see redact.ts for how they match). */
  redactKeys: [
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "authorization",
    "access_token",
    "refresh_token",
    "private_key",
    "client_secret",
    "cookie",
  ] as readonly string[],
  argumentsMaxBytes: 4_096,
} as const;

export interface AuditSettings {
  /** false (MCPGW_AUDIT=off): no audit records at all — development and benchmarks only; the gateway warns at start. */
  enabled: boolean;
  /** true: calls proceed when the audit store cannot commit (logged loudly); false: they are refused. */
  failOpen: boolean;
  redactKeys: readonly string[];
  /** Serialized arguments larger than this (UTF-8 bytes, after redaction) are truncated. */
  argumentsMaxBytes: number;
  /** This gateway's name in chain ids and for marking its previous run's unfinished calls; undefined = host name. */
  instance?: string;
}

const INSTANCE = /^[A-Za-z0-9._-]{1,64}$/;

/** The audit settings from MCPGW_AUDIT_* variables, each checked once. */
export function resolveAuditSettings(env: EnvSettings): AuditSettings {
  return {
    enabled: parseBoolean(env.audit, variableName("audit")) ?? AUDIT_DEFAULTS.enabled,
    failOpen: parseBoolean(env.auditFailOpen, variableName("auditFailOpen")) ?? AUDIT_DEFAULTS.failOpen,
    redactKeys: parseRedactKeys(env.auditRedactKeys),
    argumentsMaxBytes: parseArgumentsCap(env.auditArgumentsMaxBytes),
    ...(env.auditInstance !== undefined && { instance: parseInstance(env.auditInstance) }),
  };
}

function parseBoolean(text: string | undefined, source: string): boolean | undefined {
  if (text === undefined) return undefined;
  const value = text.trim().toLowerCase();
  if (["true", "1", "yes", "on"].includes(value)) return true;
  if (["false", "0", "no", "off"].includes(value)) return false;
  throw new ConfigError(`${source}: "${text}" is not true or false`, "use true or false");
}

/** "a,b" replaces the default list; "+a,b" adds to it; "" (unset) keeps it. */
function parseRedactKeys(text: string | undefined): readonly string[] {
  if (text === undefined) return AUDIT_DEFAULTS.redactKeys;
  const add = text.trimStart().startsWith("+");
  const keys = text
    .trim()
    .replace(/^\+/, "")
    .split(",")
    .map((key) => key.trim())
    .filter((key) => key !== "");
  if (keys.length === 0) {
    throw new ConfigError(
      `${variableName("auditRedactKeys")}: "${text}" names no keys`,
      'list key words separated by commas, e.g. "password,token", or "+ssn" to add to the defaults',
    );
  }
  return add ? [...new Set([...AUDIT_DEFAULTS.redactKeys, ...keys])] : keys;
}

function parseArgumentsCap(text: string | undefined): number {
  if (text === undefined) return AUDIT_DEFAULTS.argumentsMaxBytes;
  const n = Number(text);
  // Below 256 bytes not even the truncation note with a useful preview fits.
  if (!Number.isInteger(n) || n < 256 || n > 1_048_576) {
    throw new ConfigError(`${variableName("auditArgumentsMaxBytes")}: "${text}" is not a size from 256 to 1048576 bytes`, "use e.g. 4096");
  }
  return n;
}

function parseInstance(text: string): string {
  if (INSTANCE.test(text)) return text;
  throw new ConfigError(
    `${variableName("auditInstance")}: "${text}" is not an instance name`,
    "use 1 to 64 letters, digits, '.', '_' or '-' (e.g. the pod name), unique among running gateways",
  );
}
