import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import type { InitializeRequestParams, JSONRPCRequest } from "@modelcontextprotocol/sdk/types.js";
import type { Auditor } from "../audit/auditor.ts";
import type { AuthFailure } from "../auth/auth-failure.ts";
import type { AuthOutcome, RequestAuthenticator } from "../auth/request-authenticator.ts";
import { type UnauthenticatedOptions, refuseUnauthenticated } from "../pipeline/unauthenticated.ts";
import { describeError } from "../errors.ts";
import { requestContext } from "../auth/request-context.ts";
import { runAsCall } from "../credentials/call-context.ts";
import { currentTrace, handleTraced } from "../tracing/trace-propagation.ts";
import { FrontSession, type FrontSessionDeps, type SessionRoute, loadSessionSdk } from "./front-session.ts";
import { GatewayErrorCode, jsonRpcErrorBody } from "../protocol/gateway-errors.ts";
import type { JsonBudget } from "../json/json-budget.ts";
import type { SessionView } from "../sessions/session-view.ts";
import type { PolicyEngine } from "../policy/policy-engine.ts";
import type { RequestStateSealer } from "./request-state-seal.ts";
import { type RefusedBody, isNotificationMessage, isRequestMessage, readJsonRpcBody } from "./jsonrpc-body.ts";
import { answerAsJson, canAnswerAsJson } from "./json-fast-path.ts";
import { ModernFront } from "./modern-front.ts";
import { isModern, isModernStreamRequest } from "./modern-request.ts";

/** What every session gets (FrontSessionDeps, less the front's own open/close hooks), plus the front's checks. */
export interface McpHttpFrontOptions extends Omit<FrontSessionDeps, "onOpen" | "onClose">, UnauthenticatedOptions {
  maxBodyBytes: number;
  /** The whole request body must arrive within this long (408 beyond). */
  bodyTimeoutMs: number;
  /** What a body may cost beyond its size (nesting, items, number length); refused before parsing. */
  jsonBudget: JsonBudget;
  sessionIdleMs: number;
  /** Open sessions an authenticated subject may hold (the anonymous principal of MCPGW_AUTH=off is not counted). */
  maxSessionsPerSubject: number;
  /** Returns a reason to refuse the request (DNS rebinding), or undefined. */
  originGuard(request: Request): string | undefined;
  /** Verifies every request's bearer token (or makes everyone anonymous with MCPGW_AUTH=off). */
  authenticator: RequestAuthenticator;
  /** Where unauthenticated requests are recorded (the pipeline's auditor). */
  auditor: Auditor;
  /** The policy, for what a 2026-07-28 subscriptions/listen stream may carry. */
  policy: PolicyEngine;
  /** Seals the requestState handed to 2026-07-28 clients (input_required). */
  sealer: RequestStateSealer;
  /** How long a 2026-07-28 client may take to answer input_required (MCPGW_INPUT_TTL). */
  inputTtlMs: number;
}

type Authenticated = Extract<AuthOutcome, { ok: true }>;

const SESSION_HEADER = "mcp-session-id";
/** What a session id looks like (visible ASCII): anything else from an unauthenticated caller is not recorded. */
const SESSION_ID = /^[\x21-\x7e]{1,128}$/;
const BACKEND_SEGMENT = /^[a-z0-9](?:[a-z0-9-]|_(?!_)){0,62}$/;

function error(status: number, code: number, message: string, id: string | number | null = null, headers: Record<string, string> = {}): Response {
  return Response.json(jsonRpcErrorBody(code, message, id), { status, headers });
}

/**
 * The Streamable HTTP front on /mcp and /mcp/<backend>, for both protocol eras: MCP 2026-07-28
 * requests are stateless (modern-front.ts); 2025-era clients (2025-11-25 down to 2025-03-26) get
 * POST/GET/DELETE with one FrontSession per Mcp-Session-Id. Checks that must happen before either
 * sees a request live here: Origin/Host, authentication, body size and cost, batches, session lookup.
 */
export class McpHttpFront {
  private readonly sessions = new Map<string, FrontSession>();
  /** The subject that created each session: only that subject may use it (MCP: key session state by subject + id). */
  private readonly owners = new WeakMap<FrontSession, string>();
  /** Ends a session's place among its subject's sessions being opened, once it is open. */
  private readonly reservations = new WeakMap<FrontSession, () => void>();
  private readonly openPerSubject = new Map<string, number>();
  /** Sessions of each subject between the cap check and being counted open (initialize in progress). */
  private readonly openingPerSubject = new Map<string, number>();
  /** The credential each session's server→client (GET) stream was opened with, re-checked while it stays open. */
  private readonly streamCredentials = new WeakMap<FrontSession, AuthInfo>();
  private readonly sweeper: ReturnType<typeof setInterval>;
  /** 2026-07-28 requests: stateless, beside the sessions on the same endpoints. */
  private readonly modern: ModernFront;

  /**
   * What every session is built with: one object for all of them. Hooks made per session in
   * initialize(), an async function, kept its whole frame alive as long as the session (the
   * initialize Request, body and credentials); these find the subject in `owners`.
   */
  private readonly sessionDeps: FrontSessionDeps;

  constructor(private readonly options: McpHttpFrontOptions) {
    this.sessionDeps = {
      registry: options.registry,
      pool: options.pool,
      logger: options.logger,
      version: options.version,
      pipeline: options.pipeline,
      ...(options.jobs && { jobs: options.jobs }),
      // The session id exists only once the transport has answered initialize, after `owners` is set.
      onOpen: (s) => {
        const subject = this.owners.get(s) ?? "";
        this.sessions.set(s.id, s);
        this.openPerSubject.set(subject, (this.openPerSubject.get(subject) ?? 0) + 1);
        this.reservations.get(s)?.();
        this.reservations.delete(s);
      },
      onClose: (s) => {
        if (!this.sessions.delete(s.id)) return;
        const subject = this.owners.get(s) ?? "";
        const left = (this.openPerSubject.get(subject) ?? 1) - 1;
        if (left > 0) this.openPerSubject.set(subject, left);
        else this.openPerSubject.delete(subject);
      },
    };
    this.modern = new ModernFront({
      registry: options.registry,
      pool: options.pool,
      policy: options.policy,
      sealer: options.sealer,
      inputTtlMs: options.inputTtlMs,
      logger: options.logger,
      version: options.version,
      pipeline: options.pipeline,
      ...(options.jobs && { jobs: options.jobs }),
    });
    this.sweeper = setInterval(() => this.expireIdle(), Math.min(60_000, Math.max(1_000, options.sessionIdleMs / 2)));
    this.sweeper.unref?.();
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** The open sessions, as `mcpgw sessions list` shows them (published by sessions/session-publisher.ts). */
  sessionViews(): SessionView[] {
    return [...this.sessions.values()].map((session) => session.view());
  }

  /**
   * Handles a request whose path is /mcp or /mcp/<backend>, in its W3C trace context (continued
   * from its traceparent, or started): the per-call log line carries it, and HTTP backends get it.
   */
  handle(request: Request, path: string): Promise<Response> {
    return handleTraced(request, () => this.dispatch(request, path));
  }

  private async dispatch(request: Request, path: string): Promise<Response> {
    const refusal = this.options.originGuard(request);
    if (refusal) return error(403, GatewayErrorCode.InvalidRequest, `Forbidden: ${refusal}`);
    // Every request, before routes, backends, sessions or the body are looked at: sessions are
    // never authentication, and an unauthenticated caller learns nothing about what is behind.
    const auth = await this.options.authenticator.authenticate(request);
    if (!auth.ok) return this.unauthenticated(request, path, auth.failure);
    const route = routeOf(path);
    if (!route) return error(404, GatewayErrorCode.InvalidRequest, `no MCP endpoint at ${path}: use /mcp or /mcp/<backend>`);
    if (route.kind === "backend" && !this.options.registry.get(route.backend)) {
      return error(404, GatewayErrorCode.UnknownBackend, `there is no backend "${route.backend}" (list them with: mcpgw backend list)`);
    }
    switch (request.method) {
      case "POST":
        return this.post(request, route, auth);
      case "GET":
      case "DELETE": {
        if (isModernStreamRequest(request.headers)) {
          return error(
            405,
            GatewayErrorCode.InvalidRequest,
            `Method Not Allowed: ${request.method}; MCP 2026-07-28 has no sessions and no GET stream: POST each request (subscriptions/listen for notifications)`,
            null,
            { allow: "POST" },
          );
        }
        const found = this.existingSession(request, route, auth);
        if (found instanceof Response) return found;
        found.lastActivity = Date.now();
        const response = await found.handleHttp(request, { authInfo: auth.authInfo });
        if (request.method === "GET" && response.ok) {
          this.streamCredentials.set(found, auth.authInfo);
          found.standaloneStreamOpened();
        }
        return response;
      }
      default:
        return error(405, GatewayErrorCode.InvalidRequest, `Method Not Allowed: ${request.method}; MCP uses POST, GET and DELETE`, null, {
          allow: "POST, GET, DELETE",
        });
    }
  }

  private async post(request: Request, route: SessionRoute, auth: Authenticated): Promise<Response> {
    const contentType = request.headers.get("content-type") ?? "";
    if (!contentType.toLowerCase().startsWith("application/json")) {
      return error(415, GatewayErrorCode.InvalidRequest, "Unsupported Media Type: Content-Type must be application/json");
    }
    const accept = request.headers.get("accept") ?? "";
    if (!accept.includes("application/json") || !accept.includes("text/event-stream")) {
      return error(406, GatewayErrorCode.InvalidRequest, "Not Acceptable: Accept must list both application/json and text/event-stream");
    }
    // /mcp/<backend> may have its own bound (backend add --max-body); /mcp uses the gateway's.
    const maxBody = (route.kind === "backend" && this.options.registry.get(route.backend)?.limits?.maxBodyBytes) || this.options.maxBodyBytes;
    const body = await readJsonRpcBody(request, { maxBytes: maxBody, timeoutMs: this.options.bodyTimeoutMs }, this.options.jsonBudget);
    if (!body.ok) return this.refusedBody(request, route, auth, body);
    const message = body.message;
    // The era is decided per request: modern _meta is served statelessly, initialize opens a session.
    if (isModern(message, request.headers)) return this.modern.post(request, route, auth.authInfo, message);
    if (!request.headers.has(SESSION_HEADER)) {
      if (!isRequestMessage(message) || message.method !== "initialize") {
        return error(
          400,
          GatewayErrorCode.InvalidRequest,
          "Bad Request: Mcp-Session-Id header is required (send initialize first to get one)",
          isRequestMessage(message) ? message.id : null,
        );
      }
      // Initialize is rare: it gets the full schema check the hot path does without.
      const parsed = (await loadSessionSdk()).InitializeRequestSchema.safeParse(message);
      if (!parsed.success) {
        return error(
          400,
          GatewayErrorCode.InvalidParams,
          `Invalid initialize request: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
          message.id,
        );
      }
      return this.initialize(route, message as JSONRPCRequest & { params: InitializeRequestParams }, auth);
    }
    const session = this.existingSession(request, route, auth);
    if (session instanceof Response) return session;
    session.lastActivity = Date.now();
    if (isRequestMessage(message) && canAnswerAsJson(session, message)) return answerAsJson(session, message, request, auth.authInfo);
    if (isNotificationMessage(message) && message.method === "notifications/cancelled") session.cancelDirect(message.params as never);
    return session.handleHttp(request, { parsedBody: message, authInfo: auth.authInfo });
  }

  private async initialize(route: SessionRoute, message: JSONRPCRequest & { params: InitializeRequestParams }, auth: Authenticated): Promise<Response> {
    const { id } = message;
    const subject = auth.principal.subject;
    // At the cap, the subject's least recently used session with no call in flight makes room
    // (clients that go away without DELETE leave theirs behind); only when all are busy is the new one refused.
    // Sessions still opening count too, and a victim leaves the count the moment it is chosen:
    // otherwise several initializes at once all fit under the cap, or all end the same session.
    const capped = !auth.principal.anonymous;
    const endings: Promise<void>[] = [];
    while (capped && this.sessionsOf(subject) >= this.options.maxSessionsPerSubject) {
      const ending = this.endLeastRecentlyUsed(subject, auth, route);
      if (ending) {
        endings.push(ending);
        continue;
      }
      const reason = `"${subject}" already has ${this.sessionsOf(subject)} open sessions, each with a call in flight, the most allowed (MCPGW_MAX_SESSIONS_PER_SUBJECT); end some (DELETE) or wait for one to finish`;
      await this.options.auditor
        .refuse(
          { subject, roles: auth.principal.roles, method: "initialize", ...(route.kind === "backend" && { backend: route.backend }) },
          { status: "rate_limited", errorCode: GatewayErrorCode.RateLimited, errorMessage: reason, rule: "max sessions per subject" },
        )
        .catch((err) => this.options.logger.warn({ err: describeError(err) }, "session refusal not audited"));
      return error(429, GatewayErrorCode.RateLimited, reason, id);
    }
    // Held from here until the session is counted as open (onOpen), or fails to open.
    let reserved = capped;
    const unreserve = () => {
      if (!reserved) return;
      reserved = false;
      const left = (this.openingPerSubject.get(subject) ?? 1) - 1;
      if (left > 0) this.openingPerSubject.set(subject, left);
      else this.openingPerSubject.delete(subject);
    };
    if (capped) this.openingPerSubject.set(subject, (this.openingPerSubject.get(subject) ?? 0) + 1);
    try {
      await Promise.all(endings);
      return await this.openSession(route, message, auth, unreserve);
    } finally {
      unreserve();
    }
  }

  /** A subject's sessions: open ones and ones being opened. */
  private sessionsOf(subject: string): number {
    return (this.openPerSubject.get(subject) ?? 0) + (this.openingPerSubject.get(subject) ?? 0);
  }

  private async openSession(
    route: SessionRoute,
    message: JSONRPCRequest & { params: InitializeRequestParams },
    auth: Authenticated,
    opened: () => void,
  ): Promise<Response> {
    const { params, id } = message;
    let session: FrontSession;
    try {
      const open = () => FrontSession.open(route, params, this.sessionDeps, auth.principal);
      // Opening connects the route's backends: one whose credential is exchanged from the caller's
      // identity-provider token (--auth token-exchange) needs that token, held for this request only.
      const subjectToken = requestContext(auth.authInfo)?.subjectToken;
      const { subject, roles } = auth.principal;
      session = await (subjectToken ? runAsCall({ id: crypto.randomUUID(), subject, roles, subjectToken }, open) : open());
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      this.options.logger.warn({ route, err: describeError(err) }, "session not opened");
      return error(502, typeof code === "number" ? code : GatewayErrorCode.BackendUnavailable, describeError(err), id);
    }
    this.owners.set(session, auth.principal.subject);
    // Counted as opening until onOpen (the transport answered initialize) counts it as open.
    this.reservations.set(session, opened);
    session.subject = auth.principal.subject;
    const response = session.initializeResponse(id);
    if (!session.id) await session.close();
    else session.log.info({ session: session.id, client: session.clientInfo?.name, clientVersion: session.clientInfo?.version }, "session opened");
    return response;
  }

  /** A body refused before it became a message (too large, too costly, not JSON-RPC): audited as invalid, then answered. */
  private async refusedBody(request: Request, route: SessionRoute, auth: Authenticated, body: RefusedBody): Promise<Response> {
    const sessionId = request.headers.get(SESSION_HEADER);
    const context = {
      subject: auth.principal.subject,
      roles: auth.principal.roles,
      method: body.method ?? "POST",
      ...(body.id !== undefined && { requestId: String(body.id) }),
      ...(sessionId !== null && SESSION_ID.test(sessionId) && { sessionId }),
      ...(route.kind === "backend" && { backend: route.backend }),
    };
    try {
      await this.options.auditor.refuse(context, { status: "invalid", errorCode: body.code, errorMessage: body.reason, decision: "invalid" });
    } catch (err) {
      this.options.logger.error({ err: describeError(err), reason: body.reason }, "refused request body not audited");
    }
    return body.response;
  }

  /**
   * Ends the subject's least recently used idle session, audited: it leaves the session count at
   * once (its close starts synchronously), and the returned promise settles when it is closed and
   * audited. Undefined when every one has a call in flight.
   */
  private endLeastRecentlyUsed(subject: string, auth: Authenticated, route: SessionRoute): Promise<void> | undefined {
    let oldest: FrontSession | undefined;
    for (const session of this.sessions.values()) {
      if (this.owners.get(session) !== subject || session.busy) continue;
      if (!oldest || session.lastActivity < oldest.lastActivity) oldest = session;
    }
    if (!oldest) return undefined;
    const reason = `session ended to make room for a new one: "${subject}" was at MCPGW_MAX_SESSIONS_PER_SUBJECT (${this.options.maxSessionsPerSubject}), and this was its least recently used idle session (last used ${new Date(oldest.lastActivity).toISOString()})`;
    oldest.log.info({ session: oldest.id, subject }, "session ended to make room (least recently used, idle)");
    const closing = oldest.close();
    // Not a refusal (the new session is let in): an event, recorded as one.
    const audited = this.options.auditor
      .record(
        { subject, roles: auth.principal.roles, method: "session end", sessionId: oldest.id, ...(route.kind === "backend" && { backend: route.backend }) },
        { status: "cancelled", errorMessage: reason, decision: "evicted", rule: "max sessions per subject" },
      )
      .catch((err) => this.options.logger.warn({ err: describeError(err) }, "session eviction not audited"));
    return Promise.all([closing, audited]).then(() => undefined);
  }

  private existingSession(request: Request, route: SessionRoute, auth: Authenticated): FrontSession | Response {
    const id = request.headers.get(SESSION_HEADER);
    if (!id) return error(400, GatewayErrorCode.InvalidRequest, "Bad Request: Mcp-Session-Id header is required");
    const session = this.sessions.get(id);
    // A session belongs to the endpoint and the subject that created it; for anyone else, or
    // elsewhere, it does not exist (404, like an unknown id: its existence is not revealed).
    if (!session || !sameRoute(session.route, route) || this.owners.get(session) !== auth.principal.subject) {
      return error(404, GatewayErrorCode.InvalidRequest, "Session not found: it expired or was ended; initialize a new one");
    }
    return session;
  }

  /** 401 (503 when the identity provider is unreachable), with the specific reason logged and audited. */
  private async unauthenticated(request: Request, path: string, failure: AuthFailure): Promise<Response> {
    const sessionId = request.headers.get(SESSION_HEADER);
    const route = routeOf(path);
    const context = {
      method: `${request.method} ${path}`,
      ...(sessionId !== null && SESSION_ID.test(sessionId) && { sessionId }),
      ...(route?.kind === "backend" && { backend: route.backend }),
    };
    const trace = currentTrace();
    const answer = await refuseUnauthenticated(this.options, request, failure, context);
    const source = answer.source;
    if (answer.kind === "limited") {
      const from = source ?? "this source";
      const message = `Too Many Requests: too many requests without a valid token from ${from}; retry in ${answer.retryAfterSec} s with a valid token`;
      return error(429, GatewayErrorCode.RateLimited, message, null, { "retry-after": String(answer.retryAfterSec) });
    }
    // Past the first ones of a minute, they are counted, not logged one by one either.
    if (answer.recorded) {
      this.options.logger.info(
        {
          reason: failure.reason,
          detail: failure.detail,
          method: request.method,
          path,
          source,
          ...(context.sessionId && { session: context.sessionId }),
          ...(trace && { trace_id: trace.traceId, span_id: trace.spanId }),
        },
        "request unauthenticated",
      );
    }
    return answer.response;
  }

  private expireIdle(): void {
    const cutoff = Date.now() - this.options.sessionIdleMs;
    for (const session of this.sessions.values()) {
      if (session.lastActivity < cutoff) {
        session.log.info({ session: session.id }, "session expired (idle)");
        void session.close();
      }
    }
  }

  /**
   * Ends server→client streams whose credential is no longer valid (revoked, key retired,
   * expired): a stream outlives the request that opened it, so it is re-checked when credentials
   * change. The client may reopen it, with a valid token.
   */
  closeUnauthorizedStreams(): void {
    this.modern.listeners.closeUnauthorized((credential) => this.options.authenticator.stillValid(credential));
    for (const session of this.sessions.values()) {
      const credential = this.streamCredentials.get(session);
      if (!credential || this.options.authenticator.stillValid(credential)) continue;
      this.streamCredentials.delete(session);
      session.log.info({ session: session.id }, "server-to-client stream closed: its token is no longer valid");
      session.closeStandaloneStream();
    }
  }

  /** Ends the server→client GET streams, which would otherwise hold a graceful drain open until its bound. */
  closeStandaloneStreams(): void {
    this.modern.listeners.closeAll();
    for (const session of this.sessions.values()) session.closeStandaloneStream();
  }

  /** Ends every session (shutdown). */
  async closeAll(): Promise<void> {
    clearInterval(this.sweeper);
    await this.modern.bridge.closeAll();
    await Promise.all([...this.sessions.values()].map((s) => s.close()));
  }
}

function sameRoute(a: SessionRoute, b: SessionRoute): boolean {
  return a.kind === "aggregate" ? b.kind === "aggregate" : b.kind === "backend" && a.backend === b.backend;
}

function routeOf(path: string): SessionRoute | undefined {
  if (path === "/mcp" || path === "/mcp/") return { kind: "aggregate" };
  const segment = path.slice("/mcp/".length).replace(/\/$/, "");
  if (!BACKEND_SEGMENT.test(segment)) return undefined;
  return { kind: "backend", backend: segment };
}
