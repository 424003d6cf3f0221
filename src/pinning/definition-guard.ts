import type { McpError, Request, Result, ServerCapabilities } from "@modelcontextprotocol/sdk/types.js";

/** A backend connection as a DefinitionGuard uses it: to list on its own (past the guard) when it must see everything. */
export interface GuardedConnection {
  readonly name: string;
  readonly isClosed: boolean;
  readonly serverCapabilities: ServerCapabilities;
  /** The capabilities it declares to the backend, as a pin scope (pinning/pin-record.ts pinScope). */
  readonly pinScope: string;
  /** A request of the guard's own: its answer is not passed back through the guard. */
  request(request: Request, options: { unguarded: true }): Promise<Result>;
}

/**
 * What a backend connection asks before and after talking to its backend, so that every way to a
 * backend (sessions on /mcp and /mcp/<backend>, stateless requests, jobs, `mcpgw call`) sees the
 * same pinned definitions (src/pinning/pin-guard.ts). The hot path asks `refusal` once per call: a
 * map lookup or two.
 */
export interface DefinitionGuard {
  /** The check of the backend's lists under way (after a connect or list_changed), if any: calls wait for it. */
  pending(backend: string): Promise<void> | undefined;
  /** The error a call is refused with (its tool or prompt, or the template a read's URI matches, drifted from its pin), or undefined. */
  refusal(backend: string, request: Request): McpError | undefined;
  /**
   * A list answer as callers may see it (drift hidden or flagged); records what the backend listed.
   * `scope`: the capabilities the request declared (backends list more to clients that can sample…).
   */
  listed(connection: GuardedConnection, request: Request, result: Result, scope: string): Result;
  /** The connection opened (initialize or server/discover answered): what the backend lists now is checked. */
  connected(connection: GuardedConnection): void;
  /** The backend said a list changed: it is checked again. */
  listChanged(connection: GuardedConnection): void;
}
