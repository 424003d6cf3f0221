import type { BackendAuth } from "../credentials/backend-auth.ts";
import type { BoundCredential } from "../credentials/bound-credential.ts";
import { UsageError } from "../errors.ts";

export const BACKEND_TRANSPORTS = ["stdio", "streamable-http", "sse"] as const;
export type BackendTransportKind = (typeof BACKEND_TRANSPORTS)[number];

/** A registered backend as stored. Header and env values may hold ${VAR} references, resolved only when connecting. */
export interface BackendSpec {
  name: string;
  transport: BackendTransportKind;
  /** streamable-http and sse. */
  url?: string;
  /** stdio: the program and its arguments. */
  command?: string[];
  env: Record<string, string>;
  headers: Record<string, string>;
  timeoutMs: number;
  /** Load protection for this backend; absent fields fall back to the gateway's defaults. */
  limits?: BackendLimits;
  /**
   * Tool-name globs the operator vouches are idempotent: a job running one of them that a dead
   * gateway interrupted is run again (as it is when the tool's own annotations say idempotentHint).
   */
  idempotentTools?: string[];
  /** Per-caller credentials (backend add --auth); absent: static, the headers/env above for every caller. */
  auth?: BackendAuth;
  /**
   * Runtime only, never stored: the caller this copy of the spec is bound to (credential-binder.ts).
   * A spec with `auth` and no credential cannot be connected: there is no caller to speak for.
   */
  credential?: BoundCredential;
  createdAt: number;
  updatedAt: number;
}

export interface BackendLimits {
  /** Calls in flight to this backend at once, from all sessions together. */
  maxConcurrency?: number;
  /** Calls waiting for a slot beyond that; more are refused as "busy". */
  maxQueue?: number;
  /** Largest request body accepted on /mcp/<backend>. */
  maxBodyBytes?: number;
  /** Largest single message accepted from the backend. */
  maxResponseBytes?: number;
  /** stdio: child processes the backend may have at once (MCPGW_MAX_PROCESSES_PER_BACKEND when absent; at least 2). */
  maxProcesses?: number;
}

export const DEFAULT_BACKEND_TIMEOUT_MS = 30_000;

// "__" separates backend from tool in aggregated names (<backend>__<tool>), so a name may not contain it.
const BACKEND_NAME = /^[a-z0-9](?:[a-z0-9-]|_(?!_)){0,62}$/;

/** Names a backend may not have: `GET /v1/admin/backends/status` is every backend's live status, not a backend's settings. */
const RESERVED_BACKEND_NAMES: ReadonlySet<string> = new Set(["status"]);

/** Throws a UsageError unless `name` can name a backend (and a URL path segment, and a tool prefix). */
export function assertBackendName(name: string): void {
  if (!BACKEND_NAME.test(name)) {
    throw new UsageError(
      `"${name}" is not a valid backend name`,
      "use 1-63 lower-case letters, digits, - and single _, starting with a letter or digit (e.g. github, fs-local)",
    );
  }
  if (RESERVED_BACKEND_NAMES.has(name)) {
    throw new UsageError(
      `"${name}" is reserved: the admin API's /v1/admin/backends/${name} shows every backend's live status`,
      `choose another name (e.g. ${name}-service)`,
    );
  }
}
