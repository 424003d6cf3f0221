import { type InitializeRequestParams, InitializeRequestSchema, type JSONRPCRequest } from "@modelcontextprotocol/sdk/types.js";
import type { BackendPool } from "../backends/backend-pool.ts";
import type { BackendRegistry } from "../backends/backend-registry.ts";
import { describeError } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import type { Pipeline } from "./front-session.ts";
import { FrontSession, type SessionRoute } from "./front-session.ts";
import { GatewayErrorCode, jsonRpcErrorBody } from "./gateway-errors.ts";
import { isNotificationMessage, isRequestMessage, readJsonRpcBody } from "./jsonrpc-body.ts";
import { answerAsJson, canAnswerAsJson } from "./json-fast-path.ts";

export interface McpHttpFrontOptions {
  registry: BackendRegistry;
  pool: BackendPool;
  logger: Logger;
  version: string;
  pipeline: Pipeline;
  maxBodyBytes: number;
  sessionIdleMs: number;
  /** Returns a reason to refuse the request (DNS rebinding), or undefined. */
  originGuard(request: Request): string | undefined;
}

const SESSION_HEADER = "mcp-session-id";
const BACKEND_SEGMENT = /^[a-z0-9](?:[a-z0-9-]|_(?!_)){0,62}$/;

function error(status: number, code: number, message: string, id: string | number | null = null, headers: Record<string, string> = {}): Response {
  return Response.json(jsonRpcErrorBody(code, message, id), { status, headers });
}

/**
 * The Streamable HTTP front (MCP 2025-11-25, negotiating down to 2025-03-26): POST/GET/DELETE on
 * /mcp and /mcp/<backend>, one FrontSession per Mcp-Session-Id. Checks that must happen before
 * the SDK transport sees a request live here: Origin/Host, body size, batches, session lookup.
 */
export class McpHttpFront {
  private readonly sessions = new Map<string, FrontSession>();
  private readonly sweeper: ReturnType<typeof setInterval>;

  constructor(private readonly options: McpHttpFrontOptions) {
    this.sweeper = setInterval(() => this.expireIdle(), Math.min(60_000, Math.max(1_000, options.sessionIdleMs / 2)));
    this.sweeper.unref?.();
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Handles a request whose path is /mcp or /mcp/<backend>. */
  async handle(request: Request, path: string): Promise<Response> {
    const refusal = this.options.originGuard(request);
    if (refusal) return error(403, GatewayErrorCode.InvalidRequest, `Forbidden: ${refusal}`);
    const route = routeOf(path);
    if (!route) return error(404, GatewayErrorCode.InvalidRequest, `no MCP endpoint at ${path}: use /mcp or /mcp/<backend>`);
    if (route.kind === "backend" && !this.options.registry.get(route.backend)) {
      return error(404, GatewayErrorCode.UnknownBackend, `there is no backend "${route.backend}" (list them with: mcpgw backend list)`);
    }
    switch (request.method) {
      case "POST":
        return this.post(request, route);
      case "GET":
      case "DELETE": {
        const found = this.existingSession(request, route);
        if (found instanceof Response) return found;
        found.lastActivity = Date.now();
        const response = await found.transport.handleRequest(request);
        if (request.method === "GET" && response.ok) found.standaloneStreamOpened();
        return response;
      }
      default:
        return error(405, GatewayErrorCode.InvalidRequest, `Method Not Allowed: ${request.method}; MCP uses POST, GET and DELETE`, null, { allow: "POST, GET, DELETE" });
    }
  }

  private async post(request: Request, route: SessionRoute): Promise<Response> {
    const contentType = request.headers.get("content-type") ?? "";
    if (!contentType.toLowerCase().startsWith("application/json")) {
      return error(415, GatewayErrorCode.InvalidRequest, "Unsupported Media Type: Content-Type must be application/json");
    }
    const accept = request.headers.get("accept") ?? "";
    if (!accept.includes("application/json") || !accept.includes("text/event-stream")) {
      return error(406, GatewayErrorCode.InvalidRequest, "Not Acceptable: Accept must list both application/json and text/event-stream");
    }
    const body = await readJsonRpcBody(request, this.options.maxBodyBytes);
    if (!body.ok) return body.response;
    const message = body.message;
    if (!request.headers.has(SESSION_HEADER)) {
      if (!isRequestMessage(message) || message.method !== "initialize") {
        return error(400, GatewayErrorCode.InvalidRequest, "Bad Request: Mcp-Session-Id header is required (send initialize first to get one)", isRequestMessage(message) ? message.id : null);
      }
      // Initialize is rare: it gets the full schema check the hot path does without.
      const parsed = InitializeRequestSchema.safeParse(message);
      if (!parsed.success) {
        return error(400, GatewayErrorCode.InvalidParams, `Invalid initialize request: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`, message.id);
      }
      return this.initialize(request, route, message as JSONRPCRequest & { params: InitializeRequestParams });
    }
    const session = this.existingSession(request, route);
    if (session instanceof Response) return session;
    session.lastActivity = Date.now();
    if (isRequestMessage(message) && canAnswerAsJson(session, message)) return answerAsJson(session, message, request);
    if (isNotificationMessage(message) && message.method === "notifications/cancelled") session.cancelDirect(message.params as never);
    return session.transport.handleRequest(request, { parsedBody: message });
  }

  private async initialize(request: Request, route: SessionRoute, message: JSONRPCRequest & { params: InitializeRequestParams }): Promise<Response> {
    const { params, id } = message;
    let session: FrontSession;
    try {
      session = await FrontSession.open(route, params, {
        registry: this.options.registry,
        pool: this.options.pool,
        logger: this.options.logger,
        version: this.options.version,
        pipeline: this.options.pipeline,
        onOpen: (s) => this.sessions.set(s.id, s),
        onClose: (s) => this.sessions.delete(s.id),
      });
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      this.options.logger.warn({ route, err: describeError(err) }, "session not opened");
      return error(502, typeof code === "number" ? code : GatewayErrorCode.BackendUnavailable, describeError(err), id);
    }
    await session.server.connect(session.transport);
    const response = await session.transport.handleRequest(request, { parsedBody: message });
    if (!session.id) await session.close();
    else session.log.info({ session: session.id, client: session.clientInfo?.name, clientVersion: session.clientInfo?.version }, "session opened");
    return response;
  }

  private existingSession(request: Request, route: SessionRoute): FrontSession | Response {
    const id = request.headers.get(SESSION_HEADER);
    if (!id) return error(400, GatewayErrorCode.InvalidRequest, "Bad Request: Mcp-Session-Id header is required");
    const session = this.sessions.get(id);
    // A session belongs to the endpoint that created it; elsewhere it does not exist.
    if (!session || JSON.stringify(session.route) !== JSON.stringify(route)) {
      return error(404, GatewayErrorCode.InvalidRequest, "Session not found: it expired or was ended; initialize a new one");
    }
    return session;
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

  /** Ends the server→client GET streams, which would otherwise hold a graceful drain open until its bound. */
  closeStandaloneStreams(): void {
    for (const session of this.sessions.values()) session.transport.closeStandaloneSSEStream();
  }

  /** Ends every session (shutdown). */
  async closeAll(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.all([...this.sessions.values()].map((s) => s.close()));
  }
}

function routeOf(path: string): SessionRoute | undefined {
  if (path === "/mcp" || path === "/mcp/") return { kind: "aggregate" };
  const segment = path.slice("/mcp/".length).replace(/\/$/, "");
  if (!BACKEND_SEGMENT.test(segment)) return undefined;
  return { kind: "backend", backend: segment };
}
