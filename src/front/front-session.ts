import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import type { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type {
  ClientCapabilities,
  Implementation,
  InitializeRequestParams,
  JSONRPCMessage,
  LoggingLevel,
  Notification,
  Progress,
  Request,
  RequestId,
  Result,
  ServerNotification,
  ServerRequest,
} from "@modelcontextprotocol/sdk/types.js";
import { ErrorCode, McpError, LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS, LoggingLevelSchema } from "../protocol/mcp-values.ts";
import type { BackendConnection, ForwardOptions } from "../backends/backend-connection.ts";
import { BackendPool, type SessionSink } from "../backends/backend-pool.ts";
import type { BackendRegistry } from "../backends/backend-registry.ts";
import { describeError } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import { prefixUri, splitUri } from "../pipeline/aggregate-names.ts";
import type { SessionView } from "../sessions/session-view.ts";
import { unknownBackend, withPlainMessage } from "../protocol/gateway-errors.ts";
import { mergeCapabilities, mergeInstructions } from "./merge-capabilities.ts";
import { MemoryEventStore } from "./memory-event-store.ts";
import { RecycledControllers } from "./recycled-controllers.ts";
import { isNotificationMessage, isRequestMessage } from "./jsonrpc-body.ts";
import { unsupportedVersionResponse } from "./protocol-version-header.ts";
import type { JobService } from "../jobs/job-service.ts";
import type { CallerSession, ClientRequestExtra, Pipeline, SessionRoute } from "../pipeline/caller-session.ts";
import { TASKS_CAPABILITY } from "../tasks/task-methods.ts";
import { taskRouting } from "../tasks/task-routing.ts";
import type { TaskRouting } from "../pipeline/route.ts";
import type { CredentialCaller } from "../credentials/bound-credential.ts";

type SessionSdk = typeof import("./session-sdk.ts");
let sdk: SessionSdk | undefined;

/** The SDK's session classes and schemas (session-sdk.ts), loaded with the first session rather than at start. */
export async function loadSessionSdk(): Promise<SessionSdk> {
  sdk ??= await import("./session-sdk.ts");
  return sdk;
}

/** The SDK once loaded: a session exists only after FrontSession.open has loaded it. */
function loadedSdk(): SessionSdk {
  if (!sdk) throw new Error("the session SDK is used before loadSessionSdk()");
  return sdk;
}

export type { ClientRequestExtra, Pipeline, SessionRoute } from "../pipeline/caller-session.ts";

export interface FrontSessionDeps {
  registry: BackendRegistry;
  pool: BackendPool;
  logger: Logger;
  version: string;
  pipeline: Pipeline;
  /** Asynchronous jobs: when present, sessions offer MCP Tasks (task-augmented tools/call, tasks/*). */
  jobs?: JobService;
  /** Called once the transport has assigned the session id (the initialize response is being sent). */
  onOpen(session: FrontSession): void;
  onClose(session: FrontSession): void;
}

const SEVERITY = new Map(LoggingLevelSchema.options.map((level, index) => [level, index]));
/** Requests during which a backend starts nothing for its client. */
const LIST_METHODS: ReadonlySet<string> = new Set(["tools/list", "prompts/list", "resources/list", "resources/templates/list"]);
const SERVER_TO_CLIENT_TIMEOUT_MS = 10 * 60_000;
/** Rounds of input a 2026-07-28 backend may ask for in one call (the SDK client's default bound). */
const MAX_INPUT_ROUNDS = 10;
/** The fast path's calls' abort controllers, shared by every session (recycled-controllers.ts). */
const callControllers = new RecycledControllers();
/** How long a backend request tied to no client request waits for the client's GET stream. */
const STANDALONE_STREAM_WAIT_MS = 10_000;

/** A session's SDK Server and Streamable HTTP transport, built when it first needs them (FrontSession.sdkParts). */
interface SessionSdkParts {
  server: Server;
  transport: WebStandardStreamableHTTPServerTransport;
}

/** Notifications the SDK Server handles itself (the others go to onClientNotification, as its fallback handler does). */
const SDK_HANDLED_NOTIFICATIONS: ReadonlySet<string> = new Set(["notifications/initialized", "notifications/cancelled", "notifications/progress"]);

/**
 * One client session and the backend connections it uses. The front answers initialize
 * (initializeResponse), and requests that can be answered as plain JSON (json-fast-path.ts) go
 * through the pipeline directly; notifications and DELETE are handled here too. An SDK Server and
 * Streamable HTTP transport of its own (never shared between clients) are built only when the
 * session first needs them: a GET stream, a request whose answer is an SSE stream (progress,
 * tasks, sampling-capable clients), a request to the client. Until then an idle session is this
 * object, its maps and its capabilities, about 40 small objects instead of 107 (docs/deployment.md,
 * "Footprint"). Through the SDK, every request but ping goes through the pipeline
 * (Server.fallbackRequestHandler), so unknown methods reach the backend untouched.
 */
export class FrontSession implements SessionSink, CallerSession {
  readonly era = "legacy";
  /** The version initialize settled on: the client's when the gateway speaks it, else the latest. */
  readonly protocolVersion: string;
  private logger: Logger | undefined;
  /** The SDK Server and transport, once built (sdkParts). */
  private sdkObjects: Promise<SessionSdkParts> | undefined;
  id = "";
  lastActivity = Date.now();
  readonly openedAt = Date.now();
  /** The subject that opened the session (set by the front, which checks it on every request). */
  subject = "";
  /** The pipeline every client request of this session passes (also used by the JSON fast path). */
  readonly pipeline: Pipeline;
  /** The level the client asked for with logging/setLevel; undefined = everything. */
  logLevel: LoggingLevel | undefined;
  /** Resource URIs the client subscribed to, as the client names them. */
  readonly subscriptions = new Set<string>();
  private readonly connections = new Map<string, BackendConnection>();
  /** Front request ids in flight per backend, newest last: where backend-initiated traffic is attributed. */
  private readonly inflight = new Map<string, RequestId[]>();
  /** Per client request: the chain of notifications being sent for it (see forward). */
  private readonly relatedSends = new Map<RequestId, Promise<void>>();
  private closing: Promise<void> | undefined;
  /** Settles when the client opens its GET stream, the only way to a request tied to no client request (made when first awaited). */
  private standaloneStream: PromiseWithResolvers<void> | undefined;
  private hasStandaloneStream = false;
  /** Requests answered on the JSON fast path, by id, so a client's notifications/cancelled can abort them. */
  private readonly direct = new Map<RequestId, AbortController>();

  private constructor(
    readonly route: SessionRoute,
    readonly clientCapabilities: ClientCapabilities,
    readonly clientInfo: Implementation | undefined,
    requestedVersion: string,
    private readonly deps: FrontSessionDeps,
    private readonly serverInfo: Implementation,
    private readonly capabilities: ReturnType<typeof mergeCapabilities>,
    private readonly instructions: string | undefined,
  ) {
    this.protocolVersion = SUPPORTED_PROTOCOL_VERSIONS.includes(requestedVersion) ? requestedVersion : LATEST_PROTOCOL_VERSION;
    this.pipeline = deps.pipeline;
  }

  /** The session's logger (made on first use: an idle session never logs). */
  get log(): Logger {
    this.logger ??= this.deps.logger.child({ route: this.route.kind === "backend" ? this.route.backend : "*" });
    return this.logger;
  }

  /**
   * Answers the client's initialize (as the SDK Server would: the settled version, the session's
   * capabilities, server info and instructions) as plain JSON, giving the session its id.
   */
  initializeResponse(requestId: RequestId): Response {
    this.id = crypto.randomUUID();
    this.deps.onOpen(this);
    const result = {
      protocolVersion: this.protocolVersion,
      capabilities: this.capabilities,
      serverInfo: this.serverInfo,
      ...(this.instructions !== undefined && { instructions: this.instructions }),
    };
    const headers = { "content-type": "application/json", "mcp-session-id": this.id };
    return new Response(JSON.stringify({ jsonrpc: "2.0", id: requestId, result }), { headers });
  }

  /**
   * Handles a request of this session that the JSON fast path did not answer: notifications (and
   * stray responses) and DELETE here while the session has no SDK objects, everything else
   * through its SDK transport, built for it if need be.
   */
  async handleHttp(request: globalThis.Request, options: { parsedBody?: JSONRPCMessage; authInfo: AuthInfo }): Promise<Response> {
    const body = options.parsedBody;
    if (!this.sdkObjects && (request.method === "DELETE" || (request.method === "POST" && body !== undefined && !isRequestMessage(body)))) {
      const unsupported = unsupportedVersionResponse(request);
      if (unsupported) return unsupported;
      if (request.method === "DELETE") {
        await this.close();
        return new Response(null, { status: 200 });
      }
      if (body !== undefined && isNotificationMessage(body) && !SDK_HANDLED_NOTIFICATIONS.has(body.method)) await this.onClientNotification(body);
      return new Response(null, { status: 202 });
    }
    const { transport } = await this.sdkParts();
    return transport.handleRequest(request, options);
  }

  /** Closes the client's GET stream, if it has one. */
  closeStandaloneStream(): void {
    void this.sdkObjects?.then(({ transport }) => transport.closeStandaloneSSEStream());
  }

  /**
   * The session's SDK Server and transport, built on first need. The transport is brought to where
   * the front's initialize left the session by an initialize of its own, with the client's
   * parameters and the session's id (its answer is the one the client already has, and is dropped).
   */
  private sdkParts(): Promise<SessionSdkParts> {
    this.sdkObjects ??= this.buildSdkParts();
    return this.sdkObjects;
  }

  private async buildSdkParts(): Promise<SessionSdkParts> {
    const { Server, WebStandardStreamableHTTPServerTransport, SHARED_SCHEMA_VALIDATOR } = await loadSessionSdk();
    const server = new Server(this.serverInfo, {
      capabilities: this.capabilities,
      jsonSchemaValidator: SHARED_SCHEMA_VALIDATOR,
      ...(this.instructions !== undefined && { instructions: this.instructions }),
    });
    // The gateway handles logging/setLevel itself (filtering per session, fan-out to backends).
    server.removeRequestHandler("logging/setLevel");
    server.fallbackRequestHandler = async (request, extra) => {
      try {
        return await this.pipeline(this, request, extra);
      } catch (err) {
        throw withPlainMessage(err);
      }
    };
    server.fallbackNotificationHandler = async (notification) => this.onClientNotification(notification);
    const id = this.id;
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => id,
      eventStore: new MemoryEventStore(),
      onsessionclosed: () => void this.close(),
    });
    transport.onclose = () => void this.close();
    await server.connect(transport);
    const initialize = {
      jsonrpc: "2.0" as const,
      id: "mcpgw-session-sdk",
      method: "initialize",
      params: {
        protocolVersion: this.protocolVersion,
        capabilities: this.clientCapabilities,
        clientInfo: this.clientInfo ?? { name: "unknown", version: "0" },
      },
    };
    const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };
    const request = new globalThis.Request("http://mcpgw.internal/mcp", { method: "POST", headers });
    const answered = await transport.handleRequest(request, { parsedBody: initialize });
    await answered.text();
    if (!answered.ok) throw new McpError(ErrorCode.InternalError, `the session's SDK transport could not be set up (HTTP ${answered.status})`);
    return { server, transport };
  }

  /** Opens the backends the route needs (mirroring the client's capabilities) and builds the session. */
  static async open(route: SessionRoute, params: InitializeRequestParams, deps: FrontSessionDeps, caller?: CredentialCaller): Promise<FrontSession> {
    // Bound to the caller: a per-caller backend's connections carry this caller's credential only.
    const specs = (route.kind === "backend" ? [deps.registry.get(route.backend)] : deps.registry.list()).map((spec) => spec && deps.pool.bind(spec, caller));
    if (route.kind === "backend" && !specs[0]) throw unknownBackend(route.backend);
    const sink: { session?: FrontSession } = {};
    const proxySink = proxySinkFor(sink);
    // On /mcp, a client that gets connections of its own (sampling, elicitation, roots: for stdio, a
    // process per backend) gets each on its first call to that backend; what the session offers is
    // learnt from the backends' shared connections. 301 such sessions held 198 processes before.
    const lazy = route.kind === "aggregate" && BackendPool.needsDedicated(params.capabilities);
    const connections = specs
      .filter((s) => s !== undefined)
      .map((spec) => (lazy ? deps.pool.acquire(spec, deps.pool.discoverySink, {}) : deps.pool.acquire(spec, proxySink, params.capabilities)));
    const settled = await Promise.allSettled(connections.map((c) => c.connect()));
    const live = connections.filter((_, i) => settled[i]?.status === "fulfilled");
    if (route.kind === "backend" && live.length === 0) {
      await Promise.all(connections.map((c) => deps.pool.release(c, proxySink)));
      throw (settled[0] as PromiseRejectedResult).reason;
    }
    settled.forEach((result, i) => {
      if (result.status === "rejected")
        deps.logger.warn({ backend: connections[i]?.name, err: describeError(result.reason) }, "backend left out of the aggregated session");
    });
    const single = route.kind === "backend" ? live[0] : undefined;
    const serverInfo = single?.serverInfo ?? { name: "mcpgw", version: deps.version };
    const instructions = single ? single.instructions : mergeInstructions(live);
    const capabilities = mergeCapabilities(
      live.map((c) => c.serverCapabilities),
      deps.jobs && TASKS_CAPABILITY,
    );
    const session = new FrontSession(route, params.capabilities, params.clientInfo, params.protocolVersion, deps, serverInfo, capabilities, instructions);
    sink.session = session;
    session.caller = caller;
    if (!lazy) for (const connection of connections) session.connections.set(connection.name, connection);
    session.lazyConnections = lazy;
    session.proxySink = proxySink;
    return session;
  }

  private proxySink: SessionSink = this;
  /** Who the session's per-caller backend connections speak for: the subject that opened it (undefined: none, they fail closed). */
  private caller: CredentialCaller | undefined;
  /** Connections of its own open on first use; lists go over connections shared by clients with the same capabilities. */
  private lazyConnections = false;

  /** MCP Tasks, when the gateway offers them. */
  get tasks(): TaskRouting | undefined {
    return taskRouting(this.deps.jobs, "legacy");
  }

  /** Backends this session can reach, by name: the one of its route, or every registered backend. */
  backendNames(): string[] {
    if (this.route.kind === "backend") return [this.route.backend];
    return this.deps.registry
      .list()
      .map((spec) => spec.name)
      .sort();
  }

  /** The session's connection to a backend, (re)acquired when missing, closed, or the backend changed. */
  connection(backend: string): BackendConnection {
    const stored = this.deps.registry.get(backend);
    if (!stored || (this.route.kind === "backend" && this.route.backend !== backend)) throw unknownBackend(backend);
    const spec = this.deps.pool.bind(stored, this.caller);
    const current = this.connections.get(backend);
    if (current && !current.isClosed && current.spec === spec) return current;
    if (current) void this.deps.pool.release(current, this.proxySink);
    const fresh = this.deps.pool.acquire(spec, this.proxySink, this.clientCapabilities);
    this.connections.set(backend, fresh);
    return fresh;
  }

  /** A connection for lists, shared with every client of the same capabilities (see BackendPool.acquireForListing). */
  private listingConnection(backend: string): BackendConnection {
    const spec = this.deps.registry.get(backend);
    if (!spec || (this.route.kind === "backend" && this.route.backend !== backend)) throw unknownBackend(backend);
    return this.deps.pool.acquireForListing(this.deps.pool.bind(spec, this.caller), this.clientCapabilities);
  }

  /** The other sessions sharing this session's connection to a backend (none for a dedicated connection). */
  othersSharing(backend: string): SessionSink[] {
    const connection = this.connections.get(backend);
    const sharers = connection && this.deps.pool.sharers(connection);
    return sharers ? [...sharers].filter((sink) => sink !== this.proxySink) : [];
  }

  requestedLogLevel(): LoggingLevel | undefined {
    return this.logLevel;
  }

  /** Subscriptions are kept as the client named them: prefixed on /mcp, as the backend names them on /mcp/<backend>. */
  isSubscribed(backend: string, uri: string): boolean {
    return this.subscriptions.has(this.route.kind === "aggregate" ? prefixUri(backend, uri) : uri);
  }

  /** Whether the client is subscribed to resources of this backend (its own connection there then stays open). */
  holdsSubscriptions(backend: string): boolean {
    if (this.route.kind === "backend") return this.route.backend === backend && this.subscriptions.size > 0;
    for (const uri of this.subscriptions) if (splitUri(uri)?.backend === backend) return true;
    return false;
  }

  /** What `mcpgw sessions list` shows of this session: its backends with a connection of its own, and their processes. */
  view(): SessionView {
    const dedicated: SessionView["dedicated"] = [];
    for (const [backend, connection] of this.connections) {
      if (connection.isClosed || this.deps.pool.sharers(connection)) continue;
      dedicated.push({ backend, ...(connection.pid !== undefined && { pid: connection.pid }) });
    }
    return {
      id: this.id,
      subject: this.subject,
      ...(this.clientInfo && { client: `${this.clientInfo.name}${this.clientInfo.version ? ` ${this.clientInfo.version}` : ""}` }),
      route: this.route.kind === "backend" ? `/mcp/${this.route.backend}` : "/mcp",
      openedAt: this.openedAt,
      lastActivity: this.lastActivity,
      dedicated: dedicated.sort((a, b) => a.backend.localeCompare(b.backend)),
    };
  }

  /** Forwards one request to a backend on behalf of the client request `extra` describes. */
  async forward(backend: string, request: Request, extra: ClientRequestExtra): Promise<Result> {
    const progressToken = extra._meta?.progressToken;
    const ids = this.inflight.get(backend) ?? [];
    this.inflight.set(backend, ids);
    ids.push(extra.requestId);
    try {
      const connection = this.lazyConnections && LIST_METHODS.has(request.method) ? this.listingConnection(backend) : this.connection(backend);
      const gate = this.deps.pool.gate(connection.spec);
      // A 2026-07-28 backend is told the client's capabilities with each request.
      const options: ForwardOptions = { signal: extra.signal, clientCapabilities: this.clientCapabilities };
      // Progress comes back under the gateway's token; the client gets it under its own.
      if (progressToken !== undefined)
        options.onprogress = (progress: Progress) =>
          this.sendRelated(extra.requestId, () => extra.sendNotification({ method: "notifications/progress", params: { ...progress, progressToken } }));
      let result: Result;
      if (gate)
        result = await gate.run(extra.signal, async () =>
          this.answerInputRequests(connection, request, await connection.request(request, options), options, extra),
        );
      else {
        // Without a gate, no function of its own and no turn for the input rounds most results never ask for.
        result = await connection.request(request, options);
        if (result.resultType === "input_required") result = await this.answerInputRequests(connection, request, result, options, extra);
      }
      // The response ends the request's SSE stream: notifications sent for it must be written first.
      const sends = this.relatedSends.get(extra.requestId);
      if (sends) {
        await sends;
        // The SDK client handles a notification a microtask later than a response; when both
        // arrive in one read, it drops the notification (the last progress). A macrotask between
        // them puts them in separate writes, as the backend sent them.
        await new Promise((resolve) => setImmediate(resolve));
      }
      return result;
    } finally {
      ids.splice(ids.indexOf(extra.requestId), 1);
      if (!ids.includes(extra.requestId)) this.relatedSends.delete(extra.requestId);
    }
  }

  /**
   * The bridge from a 2026-07-28 backend to this 2025 client: a result that asks for input
   * (input_required) is turned into ordinary server-to-client requests on the client's call
   * (elicitation/create, sampling/createMessage, roots/list), and the backend call is retried with
   * the answers and the backend's requestState, until it completes. The client sees one call.
   */
  private async answerInputRequests(
    connection: BackendConnection,
    request: Request,
    first: Result,
    options: ForwardOptions,
    extra: ClientRequestExtra,
  ): Promise<Result> {
    let result = first;
    for (let round = 1; result.resultType === "input_required"; round++) {
      if (round > MAX_INPUT_ROUNDS)
        throw new McpError(ErrorCode.InternalError, `backend "${connection.name}" still asked for input after ${MAX_INPUT_ROUNDS} rounds`);
      const inputRequests = (result.inputRequests ?? {}) as Record<string, { method: string; params?: Record<string, unknown> }>;
      const inputResponses: Record<string, unknown> = {};
      for (const [key, input] of Object.entries(inputRequests)) {
        const asked = { method: input.method, params: input.params ?? {} } as ServerRequest;
        inputResponses[key] = await extra.sendRequest(asked, loadedSdk().ANY_RESULT, { timeout: SERVER_TO_CLIENT_TIMEOUT_MS });
      }
      const params = { ...request.params, inputResponses, ...(result.requestState !== undefined && { requestState: result.requestState }) };
      result = await connection.request({ method: request.method, params }, options);
    }
    return result;
  }

  /** Sends a message tied to a client request, in order after earlier ones for the same request. */
  private sendRelated(requestId: RequestId, send: () => Promise<void>): void {
    const previous = this.relatedSends.get(requestId) ?? Promise.resolve();
    this.relatedSends.set(
      requestId,
      previous.then(send).catch((err) => this.log.debug({ err: describeError(err) }, "notification not delivered")),
    );
  }

  /** A backend notification for this session: filtered, renamed for the route, sent on the right stream. */
  deliverNotification(backend: string, notification: Notification): void {
    const params = (notification.params ?? {}) as Record<string, unknown>;
    let outgoing = notification;
    if (notification.method === "notifications/resources/updated" && typeof params.uri === "string") {
      const uri = this.route.kind === "aggregate" ? prefixUri(backend, params.uri) : params.uri;
      if (!this.subscriptions.has(uri)) return;
      outgoing = { ...notification, params: { ...params, uri } };
    }
    if (notification.method === "notifications/message" && this.logLevel && typeof params.level === "string") {
      if ((SEVERITY.get(params.level as LoggingLevel) ?? 99) < (SEVERITY.get(this.logLevel) ?? 0)) return;
    }
    // Without SDK objects the session has neither a GET stream nor a call on an SSE stream: nothing could carry it.
    const sdk = this.sdkObjects;
    if (!sdk) return;
    const broadcast = notification.method.endsWith("/list_changed") || notification.method === "notifications/resources/updated";
    const relatedRequestId = broadcast ? undefined : this.streamedRequest(backend);
    if (relatedRequestId === undefined) {
      sdk
        .then(({ server }) => server.notification(outgoing as ServerNotification))
        .catch((err) => this.log.debug({ err: describeError(err), method: notification.method }, "notification not delivered"));
    } else {
      this.sendRelated(relatedRequestId, async () => (await sdk).server.notification(outgoing as ServerNotification, { relatedRequestId }));
    }
  }

  /** A backend request for the client (sampling, elicitation, roots): sent on the stream of the call that caused it. */
  async relayRequest(backend: string, request: Request, signal: AbortSignal): Promise<Result> {
    const relatedRequestId = this.streamedRequest(backend);
    // Before the client opens its GET stream the SDK transport only stores such a message, and a
    // fresh GET does not replay it: wait for the stream (bounded) instead of losing the request.
    if (relatedRequestId === undefined && !this.hasStandaloneStream) await this.waitForStandaloneStream(request.method, signal);
    const { server } = await this.sdkParts();
    return server.request(request as ServerRequest, loadedSdk().ANY_RESULT, {
      signal,
      timeout: SERVER_TO_CLIENT_TIMEOUT_MS,
      ...(relatedRequestId !== undefined && { relatedRequestId }),
    });
  }

  /**
   * The newest in-flight request to a backend that has a stream of its own: where traffic the
   * backend starts meanwhile is attributed. A request answered as plain JSON (json-fast-path.ts)
   * has no stream, so what the backend sends during it goes on the GET stream instead.
   */
  private streamedRequest(backend: string): RequestId | undefined {
    return this.inflight.get(backend)?.findLast((id) => !this.direct.has(id));
  }

  /** Whether a call of this session is in flight at a backend (such a session is not ended to make room). */
  get busy(): boolean {
    if (this.direct.size > 0) return true;
    for (const ids of this.inflight.values()) if (ids.length > 0) return true;
    return false;
  }

  /** Registers a request answered outside the SDK Server (json-fast-path.ts); returns its abort controller (a recycled one). */
  trackDirect(id: RequestId): AbortController {
    const controller = callControllers.take();
    this.direct.set(id, controller);
    return controller;
  }

  /**
   * The request `trackDirect` gave `controller` to was answered. A client that reused an id while its first
   * call was in flight replaced the entry: the later call's entry stays, so that it can still be cancelled.
   */
  untrackDirect(id: RequestId, controller: AbortController): void {
    if (this.direct.get(id) === controller) this.direct.delete(id);
    callControllers.give(controller);
  }

  /** A client's notifications/cancelled for a fast-path request (the SDK Server cancels its own). */
  cancelDirect(params: { requestId?: RequestId; reason?: string } | undefined): void {
    if (params?.requestId !== undefined) this.direct.get(params.requestId)?.abort(params.reason);
  }

  /** The front accepted the client's GET stream for this session. */
  standaloneStreamOpened(): void {
    this.hasStandaloneStream = true;
    this.standaloneStream?.resolve();
  }

  private waitForStandaloneStream(method: string, signal: AbortSignal): Promise<void> {
    const gaveUp = AbortSignal.any([signal, AbortSignal.timeout(STANDALONE_STREAM_WAIT_MS)]);
    return new Promise<void>((resolve, reject) => {
      this.standaloneStream ??= Promise.withResolvers<void>();
      void this.standaloneStream.promise.then(resolve);
      gaveUp.addEventListener(
        "abort",
        () =>
          reject(
            new McpError(
              ErrorCode.InternalError,
              `${method} not relayed: the client opened no GET stream within ${STANDALONE_STREAM_WAIT_MS / 1000} s to receive it`,
            ),
          ),
        { once: true },
      );
    });
  }

  private async onClientNotification(notification: Notification): Promise<void> {
    this.lastActivity = Date.now();
    const targets =
      this.route.kind === "backend" ? [this.route.backend] : notification.method === "notifications/roots/list_changed" ? [...this.connections.keys()] : [];
    for (const backend of targets) {
      await this.connection(backend)
        .notify(notification)
        .catch((err) => this.log.debug({ err: describeError(err), backend }, "client notification not forwarded"));
    }
  }

  /** Ends the session: its transport, and its hold on backend connections. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.deps.onClose(this);
      const connections = [...this.connections.values()];
      this.connections.clear();
      await Promise.all(connections.map((c) => this.deps.pool.release(c, this.proxySink)));
      await this.sdkObjects?.then(({ server }) => server.close()).catch(() => undefined);
    })();
    return this.closing;
  }
}

/**
 * Connections are acquired before the session exists (capabilities come from them), through a
 * proxy sink. Built outside FrontSession.open: closures made in an async function keep its whole
 * frame alive (every local of it), and this sink lives as long as the session.
 */
function proxySinkFor(sink: { session?: FrontSession }): SessionSink {
  return {
    get id() {
      return sink.session?.id ?? "";
    },
    deliverNotification: (backend, n) => sink.session?.deliverNotification(backend, n),
    relayRequest: async (backend, request, signal) => {
      if (!sink.session) throw new Error("session not ready");
      return sink.session.relayRequest(backend, request, signal);
    },
    requestedLogLevel: () => sink.session?.requestedLogLevel(),
    isSubscribed: (backend, uri) => sink.session?.isSubscribed(backend, uri) ?? false,
    holdsSubscriptions: (backend) => sink.session?.holdsSubscriptions(backend) ?? false,
  };
}
