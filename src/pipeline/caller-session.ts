import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import type { Implementation, LoggingLevel, Request, Result, ServerNotification, ServerRequest } from "@modelcontextprotocol/sdk/types.js";
import type { Logger } from "../log/logger.ts";
import type { TaskRouting } from "./route.ts";

/** /mcp/<backend> exposes one backend with names untouched; /mcp aggregates all of them. */
export type SessionRoute = { kind: "backend"; backend: string } | { kind: "aggregate" };

/** What the pipeline knows of the request it runs: ids, signal, the authenticated caller, ways to send for it. */
export type ClientRequestExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/**
 * The protocol era of a call. `legacy`: a 2025-era client on a session it opened with initialize.
 * `modern`: a 2026-07-28 client whose every request carries its version and capabilities, with no
 * session at all.
 */
export type ProtocolEra = "legacy" | "modern";

/** Another client of a shared backend connection, as far as arbitration between them needs. */
export interface Sharer {
  requestedLogLevel(): LoggingLevel | undefined;
  isSubscribed(backend: string, uri: string): boolean;
}

/**
 * Whoever a call comes from, as the pipeline sees it: a 2025-era session (front/front-session.ts)
 * or a single stateless 2026-07-28 request (front/stateless-call.ts). The pipeline and the stages
 * depend on this, never on the front's classes.
 */
export interface CallerSession {
  /** The session id; "" for a stateless request. */
  readonly id: string;
  readonly era: ProtocolEra;
  /** The MCP version in use: the session's negotiated one, or the stateless request's own. */
  readonly protocolVersion: string;
  readonly route: SessionRoute;
  readonly clientInfo: Implementation | undefined;
  readonly log: Logger;
  /** MCP Tasks of the caller's era, when the gateway offers them (src/tasks/). */
  readonly tasks: TaskRouting | undefined;
  lastActivity: number;
  /** The level the client asked for (logging/setLevel, or a modern request's _meta); undefined = none set. */
  logLevel: LoggingLevel | undefined;
  /** Resource URIs the client subscribed to, as the client names them. */
  readonly subscriptions: Set<string>;
  /** Backends this caller can reach, by name: the one of its route, or every registered backend. */
  backendNames(): string[];
  /** Forwards one request to a backend on behalf of the client request `extra` describes. */
  forward(backend: string, request: Request, extra: ClientRequestExtra): Promise<Result>;
  /** The other clients sharing this caller's connection to a backend (none for a dedicated one). */
  othersSharing(backend: string): Sharer[];
  /**
   * The input_required exchange the request is a round of, once known. Only a stateless request,
   * which is one request per caller, has one; a 2025 session's calls are never rounds.
   */
  readonly exchange?: string;
}

/**
 * A request that may be a round of an MCP 2026-07-28 input_required exchange: the client answers a
 * question by calling again, so one logical call is several requests. Whoever runs the round sets
 * `exchange` once it knows (the audit ties the rounds together by it).
 */
export interface ExchangeRound {
  exchange?: string;
}

/** The request pipeline as a caller runs it for each client request it does not answer itself. */
export type Pipeline = (session: CallerSession, request: Request, extra: ClientRequestExtra) => Promise<Result>;
