import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import type { JSONRPCMessage, JSONRPCRequest, Notification, Result } from "@modelcontextprotocol/sdk/types.js";
import { ErrorCode } from "../protocol/mcp-values.ts";
import type { BackendPool, SessionSink } from "../backends/backend-pool.ts";
import type { BackendRegistry } from "../backends/backend-registry.ts";
import { describeError } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import { continueTrace } from "../tracing/trace-propagation.ts";
import type { ClientRequestExtra, Pipeline, SessionRoute } from "../pipeline/caller-session.ts";
import type { Principal } from "../auth/principal.ts";
import { principalOf } from "../auth/request-context.ts";
import type { PolicyEngine } from "../policy/policy-engine.ts";
import { InputBridge } from "./input-bridge.ts";
import { RelayedInputStates } from "./relayed-input-state.ts";
import { ListenHub } from "./listen-hub.ts";
import type { JobService } from "../jobs/job-service.ts";
import { taskRouting } from "../tasks/task-routing.ts";
import { MODERN_TASK_METHODS, TASKS_EXTENSION, declaresTasks, missingTasksCapability } from "../tasks/modern-task-methods.ts";
import type { RequestStateSealer } from "./request-state-seal.ts";
import { Refusal } from "../pipeline/refusal.ts";
import { EventWriter, SSE_HEADERS } from "./event-writer.ts";
import { plainMessage } from "../protocol/gateway-errors.ts";
import { isRequestMessage } from "./jsonrpc-body.ts";
import { rateLimitHeaders } from "./json-fast-path.ts";
import { mergeCapabilities, mergeInstructions } from "./merge-capabilities.ts";
import { META, ModernErrorCode } from "../protocol/modern.ts";
import { ALL_VERSIONS, type ModernRefusal, type ModernRequest, checkModernRequest, paramHeaderMismatch } from "./modern-request.ts";
import { splitName } from "../pipeline/aggregate-names.ts";
import { ClientDisconnects } from "./modern-disconnects.ts";
import { NO_CAPABILITIES, StatelessCall, type StatelessCallDeps } from "./stateless-call.ts";

export interface ModernFrontDeps {
  registry: BackendRegistry;
  pool: BackendPool;
  policy: PolicyEngine;
  /** Seals the requestState of input_required results (the key comes from the shared store). */
  sealer: RequestStateSealer;
  /** How long a client may take to answer input_required. */
  inputTtlMs: number;
  logger: Logger;
  version: string;
  pipeline: Pipeline;
  /** Asynchronous jobs: when present, clients that declare the tasks extension get tasks. */
  jobs?: JobService;
}

/** How long a client may keep the gateway's discover answer (the backends behind it can change at any time). */
const DISCOVER_TTL_MS = 60_000;

/** Methods of the 2025 protocol that 2026-07-28 removed: a modern client gets "method not found" (404). */
const REMOVED = new Set(["initialize", "ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe", "tasks/result", "tasks/list"]);
/** Results a client may cache (2026-07-28 CacheableResult), which carry ttlMs and cacheScope. */
const CACHEABLE = new Set(["tools/list", "prompts/list", "resources/list", "resources/templates/list", "resources/read"]);

const JSON_HEADERS = { "content-type": "application/json" };
/** A 200 JSON answer's init, one object for every call. */
const JSON_INIT: ResponseInit = { headers: JSON_HEADERS };

function rpcError(
  status: number,
  id: JSONRPCRequest["id"] | null,
  code: number,
  message: string,
  data?: unknown,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify({ jsonrpc: "2.0", id, error: { code, message, ...(data !== undefined && { data }) } }), {
    status,
    headers: { ...JSON_HEADERS, ...headers },
  });
}

async function sendNothing(): Promise<void> {}

async function refuseServerRequest(): Promise<never> {
  throw new Error("a 2026-07-28 client takes no server-to-client requests");
}

/**
 * The 2026-07-28 side of /mcp and /mcp/<backend>: every request stands alone. It is checked
 * (version, `_meta`, headers), then runs through the same pipeline as a 2025 session's calls
 * (authenticate, route, authorize, limit, audit, forward) as a StatelessCall, and its result
 * gets what the revision adds (resultType, serverInfo, cache hints). Nothing is kept after it,
 * so any replica can answer any request.
 */
export class ModernFront {
  /** The one sink standing for every modern caller on the backends' shared connections. */
  private readonly sink: SessionSink = {
    id: "modern",
    // Change notifications go to subscriptions/listen streams; a shared connection's log
    // messages belong to no one request, so they go nowhere.
    deliverNotification: (backend: string, notification: Notification) => this.listeners.deliver(backend, notification),
    relayRequest: refuseServerRequest,
    requestedLogLevel: () => undefined,
    isSubscribed: (backend: string, uri: string) => this.listeners.isSubscribed(backend, uri),
  };
  private readonly serverInfo: { name: string; version: string };
  /** The `_meta` of a result that has none of its own: built once, frozen, since every such result shares it. */
  private readonly serverMeta: Record<string, unknown>;
  /** The end of a JSON answer whose result has no `_meta` of its own (most): that `_meta`, serialised once. */
  private readonly serverMetaTail: string;
  /** Open subscriptions/listen streams. */
  readonly listeners: ListenHub;
  /** Calls bridged to 2025-era backends that ask their client something. */
  readonly bridge: InputBridge;
  /** What every StatelessCall shares, built once. */
  private readonly callDeps: StatelessCallDeps;
  /** Cancels the calls whose clients went away. */
  readonly disconnects = new ClientDisconnects();

  constructor(private readonly deps: ModernFrontDeps) {
    this.serverInfo = Object.freeze({ name: "mcpgw", version: deps.version });
    this.serverMeta = Object.freeze({ [META.serverInfo]: this.serverInfo });
    this.serverMetaTail = `,"_meta":${JSON.stringify(this.serverMeta)}}}`;
    this.listeners = new ListenHub({ registry: deps.registry, pool: deps.pool, policy: deps.policy, logger: deps.logger }, this.sink);
    this.bridge = new InputBridge({ pool: deps.pool, sealer: deps.sealer, ttlMs: deps.inputTtlMs });
    const relayedStates = new RelayedInputStates(deps.sealer, deps.inputTtlMs);
    this.callDeps = { registry: deps.registry, pool: deps.pool, sink: this.sink, bridge: this.bridge, relayedStates };
  }

  /**
   * Answers one modern POST; `message` was read and shape-checked by the front. Not async itself:
   * the call's own async function is the only one between the front and the pipeline (each async
   * layer that returns another's promise costs a promise and three microtask turns per call).
   */
  post(request: Request, route: SessionRoute, authInfo: AuthInfo, message: JSONRPCMessage): Response | Promise<Response> {
    // 2026-07-28 defines no client-to-server notification over HTTP (closing a stream cancels).
    if (!isRequestMessage(message)) return new Response(null, { status: 202 });
    const checked = checkModernRequest(message, request.headers);
    if ("status" in checked) return rpcError(checked.status, message.id, checked.code, checked.message, checked.data);
    if (REMOVED.has(message.method)) {
      return rpcError(404, message.id, ErrorCode.MethodNotFound, `Method not found: ${message.method} was removed in ${checked.version}`);
    }
    if (MODERN_TASK_METHODS.has(message.method)) {
      if (!this.deps.jobs) return rpcError(404, message.id, ErrorCode.MethodNotFound, `Method not found: ${message.method} (this gateway runs no jobs)`);
      if (!declaresTasks(checked.capabilities)) {
        const missing = missingTasksCapability(message.method);
        return rpcError(400, message.id, missing.code, plainMessage(missing), missing.data);
      }
    }
    const { meta } = checked;
    // A modern request carries its trace context in _meta; it wins over the HTTP header.
    if (typeof meta.traceparent === "string") {
      return continueTrace(meta.traceparent, typeof meta.tracestate === "string" ? meta.tracestate : undefined, () =>
        this.run(request, route, authInfo, checked),
      );
    }
    return this.run(request, route, authInfo, checked);
  }

  private run(request: Request, route: SessionRoute, authInfo: AuthInfo, checked: ModernRequest): Promise<Response> {
    switch (checked.message.method) {
      case "server/discover":
        return this.discover(route, checked);
      case "subscriptions/listen":
        return this.listeners.listen(route, principalOf(authInfo), authInfo, checked.message);
      default:
        return this.call(request, route, authInfo, checked);
    }
  }

  /**
   * server/discover, answered by the gateway: the backend's capabilities and instructions on
   * /mcp/<backend>, merged over every reachable backend on /mcp. The same for every caller
   * (nothing in it depends on roles), so it may be cached publicly.
   */
  private async discover(route: SessionRoute, checked: ModernRequest): Promise<Response> {
    const specs = route.kind === "backend" ? [this.deps.registry.get(route.backend)!] : this.deps.registry.list();
    const connections = specs.map((spec) => this.deps.pool.acquire(spec, this.sink, {}));
    const settled = await Promise.allSettled(connections.map((c) => c.connect()));
    const live = connections.filter((_, i) => settled[i]?.status === "fulfilled");
    if (route.kind === "backend" && live.length === 0) {
      const reason = (settled[0] as PromiseRejectedResult).reason;
      return rpcError(502, checked.message.id, (reason as { code?: number }).code ?? ErrorCode.InternalError, plainMessage(reason));
    }
    const single = route.kind === "backend" ? live[0] : undefined;
    const instructions = single ? single.instructions : mergeInstructions(live);
    const result = {
      resultType: "complete",
      supportedVersions: [...ALL_VERSIONS],
      capabilities: this.offeredCapabilities(live),
      ...(instructions !== undefined && { instructions }),
      ttlMs: DISCOVER_TTL_MS,
      cacheScope: "public",
      _meta: { [META.serverInfo]: single?.serverInfo ?? this.serverInfo },
    };
    return new Response(JSON.stringify({ jsonrpc: "2.0", id: checked.message.id, result }), { headers: JSON_HEADERS });
  }

  /** What the gateway offers over these backends: theirs merged, and the tasks extension when it runs jobs. */
  private offeredCapabilities(live: { serverCapabilities: object }[]): Record<string, unknown> {
    const merged = modernCapabilities(mergeCapabilities(live.map((c) => c.serverCapabilities)));
    if (!this.deps.jobs) return merged;
    return { ...merged, extensions: { ...(merged.extensions as Record<string, unknown> | undefined), [TASKS_EXTENSION]: {} } };
  }

  /**
   * Any other request: through the pipeline. Answered as JSON, or as an event stream when the
   * client asked for what only a stream carries (progress, log messages). Closing the request
   * (the client went away) cancels the call.
   */
  private async call(request: Request, route: SessionRoute, authInfo: AuthInfo, checked: ModernRequest): Promise<Response> {
    const { message, meta } = checked;
    if (message.method === "tools/call") {
      // Awaited only while the tool's marks are not known yet (the first call after a listing).
      const checking = this.checkParamHeaders(route, message, request.headers);
      const refusal = checking instanceof Promise ? await checking : checking;
      if (refusal) return rpcError(refusal.status, message.id, refusal.code, refusal.message);
    }
    const principal = principalOf(authInfo);
    const streamed = meta.progressToken !== undefined || checked.logLevel !== undefined;
    const tasks = taskRouting(declaresTasks(checked.capabilities) ? this.deps.jobs : undefined, "modern");
    const { version, clientInfo, capabilities, logLevel } = checked;
    const caller = new StatelessCall(route, version, clientInfo, capabilities, logLevel, this.deps.logger, this.callDeps, tasks);
    const forwarded = message.params ? { method: message.method, params: message.params } : { method: message.method };
    if (!streamed) {
      // The hot path: aborted when the client goes away, read from the request only if the call lasts (modern-disconnects.ts).
      const watched = this.disconnects.watch(request);
      const extra = {
        signal: watched.signal,
        requestId: message.id,
        authInfo,
        _meta: meta,
        sendNotification: sendNothing,
        sendRequest: refuseServerRequest,
      } as unknown as ClientRequestExtra;
      try {
        const result = await this.deps.pipeline(caller, forwarded, extra);
        return new Response(this.modernAnswer(message, result, principal), JSON_INIT);
      } catch (err) {
        const { status, body, headers } = this.failure(message, err);
        return new Response(JSON.stringify(body), { status, headers: { ...JSON_HEADERS, ...headers } });
      } finally {
        this.disconnects.end(watched);
      }
    }
    // A stream the client cancels aborts the call too.
    const cancelled = new AbortController();
    const write = new EventWriter(() => cancelled.abort(new Error("the client closed the stream")));
    const extra = {
      signal: AbortSignal.any([request.signal, cancelled.signal]),
      requestId: message.id,
      authInfo,
      _meta: meta,
      sendNotification: async (notification: Notification) => write.send({ jsonrpc: "2.0", method: notification.method, params: notification.params }),
      sendRequest: refuseServerRequest,
    } as unknown as ClientRequestExtra;
    this.deps.pipeline(caller, forwarded, extra).then(
      (result) => write.end({ jsonrpc: "2.0", id: message.id, result: this.modernResult(message.method, result, principal) }),
      (err) => write.end(this.failure(message, err).body),
    );
    return new Response(write.stream, { headers: SSE_HEADERS });
  }

  /**
   * The Mcp-Param-* headers of a tools/call against the tool's x-mcp-header arguments, as its
   * backend's tool list declares them. A call the gateway cannot resolve here (no such backend,
   * the backend down) is left to the pipeline, which refuses it with the reason.
   */
  private checkParamHeaders(route: SessionRoute, message: JSONRPCRequest, headers: Headers): ModernRefusal | undefined | Promise<ModernRefusal | undefined> {
    const params = (message.params ?? {}) as { name?: unknown; arguments?: unknown };
    if (typeof params.name !== "string") return undefined;
    const target = route.kind === "backend" ? { backend: route.backend, name: params.name } : splitName(params.name);
    const spec = target && this.deps.registry.get(target.backend);
    if (!target || !spec) return undefined;
    const connection = this.deps.pool.acquire(spec, this.sink, NO_CAPABILITIES);
    const known = connection.knownParamHeaders(target.name);
    if (known) return paramHeaderMismatch(known, params.arguments, headers);
    return connection.paramHeaders(target.name).then(
      (annotations) => paramHeaderMismatch(annotations, params.arguments, headers),
      () => undefined,
    );
  }

  /** The error answer to a call that failed or was refused, with its HTTP status (and rate-limit headers). */
  private failure(message: JSONRPCRequest, err: unknown): { status: number; body: unknown; headers: Record<string, string> } {
    const error = err as { code?: unknown; data?: unknown };
    const code = Number.isSafeInteger(error.code) ? (error.code as number) : ErrorCode.InternalError;
    if (code === ErrorCode.InternalError && !(err instanceof Refusal))
      this.deps.logger.debug({ err: describeError(err), method: message.method }, "modern request failed");
    return {
      status: httpStatusOf(code),
      body: { jsonrpc: "2.0", id: message.id, error: { code, message: plainMessage(err), ...(error.data !== undefined && { data: error.data }) } },
      headers: err instanceof Refusal && err.status === "rate_limited" ? rateLimitHeaders(err.data as never) : {},
    };
  }

  /**
   * A result as 2026-07-28 has it: resultType ("complete" unless the backend said otherwise),
   * the server's identity in _meta, and for cacheable results ttlMs and cacheScope — "private"
   * when the caller's roles filtered or decided it, since another caller may see something else.
   */
  private modernResult(method: string, result: Result, principal: Principal | undefined): Result {
    result._meta = result._meta ? { ...result._meta, [META.serverInfo]: this.serverInfo } : this.serverMeta;
    return this.completed(method, result, principal);
  }

  /**
   * The JSON answer to a call, as modernResult has it. A result with no `_meta` of its own (most)
   * gets the gateway's, serialised once, at the end: the answer is never empty before it (it has
   * resultType), so the serialisation ends with the result's and the envelope's closing braces.
   */
  private modernAnswer(message: JSONRPCRequest, result: Result, principal: Principal | undefined): string {
    if (result._meta !== undefined) return JSON.stringify({ jsonrpc: "2.0", id: message.id, result: this.modernResult(message.method, result, principal) });
    const json = JSON.stringify({ jsonrpc: "2.0", id: message.id, result: this.completed(message.method, result, principal) });
    return json.slice(0, -2) + this.serverMetaTail;
  }

  /** resultType, and the cache hints of a cacheable result. */
  private completed(method: string, result: Result, principal: Principal | undefined): Result {
    // The result is this call's own (parsed from the backend's answer for it): completed in place.
    result.resultType ??= "complete";
    if (CACHEABLE.has(method)) {
      if (typeof result.ttlMs !== "number") result.ttlMs = 0;
      result.cacheScope = principal === undefined || principal.anonymous ? (result.cacheScope ?? "public") : "private";
    }
    return result;
  }
}

/**
 * The HTTP status of an error answer (2026-07-28 basic/index, "Error Codes"): an unknown method is
 * 404, so a client can tell it from a server that speaks only 2025; the revision's own errors
 * (header mismatch, missing client capability, unsupported version), a backend's included, are 400.
 */
function httpStatusOf(code: number): number {
  if (code === ErrorCode.MethodNotFound) return 404;
  if (
    code === ModernErrorCode.HeaderMismatch ||
    code === ModernErrorCode.MissingRequiredClientCapability ||
    code === ModernErrorCode.UnsupportedProtocolVersion
  )
    return 400;
  return 200;
}

/** Server capabilities as 2026-07-28 has them: no session-scoped subscribe (subscriptions/listen instead), no 2025 tasks. */
function modernCapabilities(capabilities: ReturnType<typeof mergeCapabilities>): Record<string, unknown> {
  const { tasks: _tasks, ...rest } = capabilities as Record<string, unknown>;
  return rest;
}
