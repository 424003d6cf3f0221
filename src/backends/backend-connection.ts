import type { ClientCapabilities, Implementation, Notification, Progress, Request, Result, ServerCapabilities } from "@modelcontextprotocol/sdk/types.js";
import { ErrorCode, McpError } from "../protocol/mcp-values.ts";
import { formatDuration } from "../config/duration.ts";
import { describeError } from "../errors.ts";
import { backendTimeout, backendUnavailable, callCancelled } from "../protocol/gateway-errors.ts";
import type { Logger } from "../log/logger.ts";
import { outsideTrace } from "../tracing/trace-propagation.ts";
import type { BackendSpec } from "./backend-spec.ts";
import type { BackendEra, BackendLink, BackendListener } from "./backend-link.ts";
import type { DefinitionGuard } from "../pinning/definition-guard.ts";
import { pinScope } from "../pinning/pin-record.ts";
import type { DirectRequestOptions } from "./direct-requests.ts";
import { type ParamHeader, paramHeadersOf, paramValue, withParamHeaders } from "./param-headers.ts";

export type { BackendEra, BackendListener } from "./backend-link.ts";

/**
 * Told what the gateway learns about a backend through its own connections: its health for the
 * metrics (observability/backend-health-metrics.ts), and what it speaks and lists for the admin
 * API's backend status (backend-status.ts).
 */
export interface BackendHealthObserver {
  /** A connection to the backend opened (initialize or server/discover answered), speaking this era and revision. */
  connected(backend: string, link?: { era: BackendEra; protocolVersion: string | undefined }): void;
  /**
   * A connection attempt failed ("connect"), or an open connection closed without the gateway closing it
   * ("closed": crash, network); `error` says why, as the callers were told.
   */
  failed(backend: string, reason: "connect" | "closed", error?: string): void;
  /**
   * A tools/list answer passed (before the pins' guard), for clients of capability scope `scope`
   * (pinning/pin-record.ts pinScope); `firstPage`: the request had no cursor, so it starts a listing.
   */
  toolsListed?(backend: string, scope: string, firstPage: boolean, tools: readonly unknown[]): void;
}

export interface BackendConnectionOptions {
  /**
   * Capabilities declared to the backend: the client's own, mirrored, so the backend shows the
   * same features. A 2025-era backend gets them in initialize; a 2026-07-28 one in each request
   * that does not bring its own (ForwardOptions.clientCapabilities).
   */
  capabilities: ClientCapabilities;
  clientInfo: Implementation;
  env: Record<string, string | undefined>;
  logger: Logger;
  listener: BackendListener;
  health?: BackendHealthObserver;
  /** Settles when the connection may start its process: the one it replaces (process cap) has exited. */
  startAfter?: Promise<unknown>;
  /** Tool-definition pinning: holds back drifted definitions from lists and calls (src/pinning/pin-guard.ts). */
  guard?: DefinitionGuard;
}

export interface ForwardOptions {
  signal?: AbortSignal;
  onprogress?: (progress: Progress) => void;
  /** Overrides the backend's timeout (jobs run longer than direct calls); progress does not extend it. */
  timeoutMs?: number;
  /**
   * For a 2026-07-28 backend: the capabilities this request declares (its caller's, mirrored),
   * instead of the connection's. Ignored by a 2025-era backend, which was told them once in initialize.
   */
  clientCapabilities?: ClientCapabilities;
  /** The definition guard's own listing: not checked against the pins on its way back. */
  unguarded?: boolean;
}

/** The requests a definition guard may refuse: calls of tools, prompts, and reads through resource templates. */
const GUARDED_CALLS: ReadonlySet<string> = new Set(["tools/call", "prompts/get", "resources/read"]);
/** The lists a definition guard checks (tools, prompts, resource templates). */
const GUARDED_LISTS: ReadonlySet<string> = new Set(["tools/list", "prompts/list", "resources/templates/list"]);
const BACKOFF_FIRST_MS = 200;
/** A tool not in the last full listing is looked for again only after this long. */
const PARAM_HEADERS_FRESH_MS = 30_000;
const MAX_TOOL_PAGES = 50;
const BACKOFF_MAX_MS = 30_000;
/** The longest backoff a caller waits out (a crash restart); beyond it, connecting fails fast until the backoff ends. */
const BACKOFF_MAX_WAIT_MS = 1_000;

/**
 * One MCP client connection to a backend, kept open and re-opened on demand. Each opening
 * detects the era the backend speaks (backend-link.ts): a 2025-era backend is initialised and
 * keeps a session; a 2026-07-28 one gets self-contained requests. Either way the connection
 * mints its own request ids (DirectRequests), so callers sharing a connection never see each
 * other's ids. After a crash or failed connect, the next attempt waits an exponential backoff
 * (200 ms … 30 s).
 */
export class BackendConnection {
  private live: BackendLink | undefined;
  private connecting: Promise<BackendLink> | undefined;
  private failures = 0;
  private retryAt = 0;
  private lastFailure = "";
  private lastError = "none";
  private closed = false;
  private readonly log: Logger;
  /** The era the backend speaks, as detected when the connection (last) opened; undefined before. */
  era: BackendEra | undefined;
  /** The revision in use: agreed in initialize, or the 2026-07-28 each modern request names. */
  protocolVersion: string | undefined;
  /** From initialize, or from server/discover (its capabilities, `_meta` serverInfo and instructions). */
  serverCapabilities: ServerCapabilities = {};
  /** Each tool's x-mcp-header arguments, as the backend's tools/list said. */
  private readonly toolParamHeaders = new Map<string, ParamHeader[]>();
  private toolsListedAt = 0;
  private listing: Promise<void> | undefined;
  serverInfo: Implementation | undefined;
  instructions: string | undefined;
  /** Requests of the gateway's in flight on this connection (one closed to make room must have none). */
  private inFlight = 0;
  /** Whether anyone has asked the connection to open yet. */
  private opened = false;
  /** When a request last started or ended here: the least recently used connection makes room first. */
  lastUsedAt = Date.now();

  constructor(
    readonly spec: BackendSpec,
    private readonly options: BackendConnectionOptions,
  ) {
    this.log = options.logger.child({ backend: spec.name });
  }

  get name(): string {
    return this.spec.name;
  }

  /** The capabilities this connection declares, as a pin scope (backends list more to clients that can sample…). */
  get pinScope(): string {
    return pinScope(this.options.capabilities);
  }

  /** Closed by the gateway (session end, backend removed): never reopens. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Whether a request is in flight or the connection is opening: then it is not closed to make room. */
  get busy(): boolean {
    // Not yet opened: just handed to a caller that is about to use it (perhaps after a concurrency gate's wait).
    return this.inFlight > 0 || this.connecting !== undefined || !this.opened;
  }

  /** Whether the connection is open now (connected, and not since closed or crashed). */
  get isOpen(): boolean {
    return this.live !== undefined;
  }

  /** The backend's process id while a stdio connection is open (undefined otherwise). */
  get pid(): number | undefined {
    return this.live?.pid;
  }

  /** Connects, or waits for the connection under way. */
  async connect(): Promise<void> {
    await this.open();
  }

  private async open(): Promise<BackendLink> {
    if (this.live) return this.live;
    this.opened = true;
    if (this.closed) throw backendUnavailable(this.name, "the connection was closed by the gateway");
    // A caller for whom no credential can be made (no secret stored) fails here, before connecting: it says
    // nothing about the backend, so it must not count as a failed attempt (backoff would delay the call after the fix).
    if (this.spec.credential?.prepare) await this.spec.credential.prepare();
    // Outside the caller's trace: a connection (its probe, its initialize, its GET stream) serves every later call too.
    this.connecting ??= outsideTrace(() => this.establish()).finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  /**
   * Sends a request to the backend and returns its result; errors name the backend and what happened.
   * One async function on every call's way (the sending was another, once: each is a turn of its own).
   */
  async request(request: Request, options: ForwardOptions = {}): Promise<Result> {
    const guard = options.unguarded ? undefined : this.options.guard;
    if (guard && GUARDED_CALLS.has(request.method)) {
      // The hot path: an open connection and no check under way cost a map lookup or two, no await.
      if (!this.live || guard.pending(this.name)) await this.guardCall(guard, request);
      else {
        const refused = guard.refusal(this.name, request);
        if (refused) throw refused;
      }
    }
    // Built field by field: this runs for every call (object spreads cost more).
    const direct: DirectRequestOptions =
      options.timeoutMs === undefined
        ? // A backend that reports progress is working, not hung.
          { timeoutMs: this.spec.timeoutMs, resetTimeoutOnProgress: true }
        : { timeoutMs: options.timeoutMs };
    if (options.signal) direct.signal = options.signal;
    if (options.onprogress) direct.onprogress = options.onprogress;
    this.inFlight += 1;
    this.lastUsedAt = Date.now();
    try {
      const live = this.live ?? (await this.open());
      const sent =
        request.method === "tools/call" && live.era === "modern" && this.spec.transport === "streamable-http" ? await this.withParamHeaders(request) : request;
      let result: Result;
      try {
        result = await live.request(sent, direct, options.clientCapabilities);
      } catch (err) {
        result = await this.afterFailure(live, err, sent, direct, options);
      }
      if (request.method === "tools/list") {
        this.recordParamHeaders(request, result);
        this.noteTools(request, result, options);
      }
      if (!guard || !GUARDED_LISTS.has(request.method)) return result;
      return guard.listed(this, request, result, options.clientCapabilities ? pinScope(options.clientCapabilities) : this.pinScope);
    } finally {
      this.inFlight -= 1;
      this.lastUsedAt = Date.now();
    }
  }

  /** Tells the observer what the backend listed (everything, drifted definitions too: the status shows their pin). */
  private noteTools(request: Request, result: Result, options: ForwardOptions): void {
    const observer = this.options.health;
    if (!observer?.toolsListed || !Array.isArray(result.tools)) return;
    const firstPage = (request.params as { cursor?: unknown } | undefined)?.cursor === undefined;
    observer.toolsListed(this.name, options.clientCapabilities ? pinScope(options.clientCapabilities) : this.pinScope, firstPage, result.tools);
  }

  /**
   * A request the backend failed: sent again once on a new session when the backend forgot ours,
   * otherwise (or when that fails too) the failure, explained.
   */
  private async afterFailure(live: BackendLink, err: unknown, request: Request, direct: DirectRequestOptions, options: ForwardOptions): Promise<Result> {
    if (live.era === "legacy" && isSessionExpired(err) && !options.signal?.aborted) {
      // The backend forgot our session (restart, expiry): re-initialise once; the request was
      // never processed, so sending it again is safe.
      this.log.info("backend session expired: re-initialising");
      await this.drop("session expired");
      try {
        return await (await this.open()).request(request, direct, options.clientCapabilities);
      } catch (retryErr) {
        throw this.explain(retryErr, "request", options.signal);
      }
    }
    throw this.explain(err, "request", options.signal);
  }

  /**
   * The arguments a tool marks x-mcp-header, from the backend's tool list: learnt from every
   * tools/list answer that passes, and listed anew (all pages) when a tool is not known yet and the
   * last full listing is older than PARAM_HEADERS_FRESH_MS.
   */
  /** The tool's x-mcp-header arguments when already known (no listing needed). */
  knownParamHeaders(tool: string): ParamHeader[] | undefined {
    return this.toolParamHeaders.get(tool);
  }

  async paramHeaders(tool: string): Promise<ParamHeader[]> {
    const known = this.toolParamHeaders.get(tool);
    if (known) return known;
    if (Date.now() - this.toolsListedAt > PARAM_HEADERS_FRESH_MS) {
      this.listing ??= this.listAllTools().finally(() => (this.listing = undefined));
      await this.listing;
    }
    return this.toolParamHeaders.get(tool) ?? [];
  }

  private async listAllTools(): Promise<void> {
    let cursor: string | undefined;
    for (let page = 0; page < MAX_TOOL_PAGES; page++) {
      const result = await this.request({ method: "tools/list", params: cursor === undefined ? {} : { cursor } });
      cursor = typeof result.nextCursor === "string" ? result.nextCursor : undefined;
      if (cursor === undefined) break;
    }
    this.toolsListedAt = Date.now();
  }

  private recordParamHeaders(request: Request, result: Result): void {
    if (!Array.isArray(result.tools)) return;
    for (const tool of result.tools as { name?: unknown; inputSchema?: unknown }[]) {
      if (typeof tool?.name === "string") this.toolParamHeaders.set(tool.name, paramHeadersOf(tool.inputSchema));
    }
    if ((request.params as { cursor?: unknown } | undefined)?.cursor === undefined) this.toolsListedAt = Date.now();
  }

  private async withParamHeaders(request: Request): Promise<Request> {
    const params = (request.params ?? {}) as Record<string, unknown>;
    if (typeof params.name !== "string") return request;
    const headers: Record<string, string> = {};
    for (const header of this.knownParamHeaders(params.name) ?? (await this.paramHeaders(params.name))) {
      const value = paramValue(header, params.arguments);
      if (value !== undefined) headers[header.name] = value;
    }
    return { method: request.method, params: withParamHeaders(params, headers) };
  }

  /**
   * Sends a notification (a request's own cancellation is sent when its signal aborts). A
   * 2026-07-28 backend takes no client notifications: there it is dropped.
   */
  async notify(notification: Notification): Promise<void> {
    await (await this.open()).notify(notification);
  }

  /**
   * Hands a notification to this connection's sessions as if the backend had sent it, by the path
   * the backend's own take (past the definition guard, which does not hear its own announcements).
   */
  announce(notification: Notification): void {
    if (!this.closed) this.options.listener.onNotification(notification);
  }

  /** Cancels the gateway's requests in flight on this connection (shutdown past its drain bound), each failing with `reason`. */
  cancelInFlight(reason: unknown): void {
    this.live?.cancelAll(reason);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.drop("closed");
  }

  private async establish(): Promise<BackendLink> {
    const wait = this.retryAt - Date.now();
    // Sleeping out a long backoff would hold every caller (and every aggregated list and /mcp
    // initialize, which wait for all backends) behind a dead backend for up to BACKOFF_MAX_MS.
    if (wait > BACKOFF_MAX_WAIT_MS) {
      throw backendUnavailable(this.name, `${this.failures} attempts to connect failed (last: ${this.lastError}); the next one is in ${formatDuration(wait)}`);
    }
    if (wait > 0) await Bun.sleep(wait);
    if (this.options.startAfter) {
      await this.options.startAfter;
      this.options.startAfter = undefined;
    }
    let live: BackendLink;
    try {
      // The era is detected afresh on each opening: a restarted backend may have been upgraded.
      // Loaded with the first connection, not at start: backend-link.ts brings the SDK's Client
      // and transports (docs/deployment.md, "Footprint").
      const { openBackendLink } = await import("./backend-link.ts");
      live = await openBackendLink(this.spec, {
        capabilities: this.options.capabilities,
        clientInfo: this.options.clientInfo,
        env: this.options.env,
        logger: this.log,
        listener: this.listener(),
        onStderrLine: (line) => (this.lastFailure = line),
      });
    } catch (err) {
      this.noteFailure();
      const explained = this.explain(err, "connect");
      this.lastError = explained.message;
      this.options.health?.failed(this.name, "connect", explained.message);
      throw explained;
    }
    if (this.closed) {
      // Closed by the gateway while connecting: nobody will use or close this link.
      await live.close().catch(() => undefined);
      throw backendUnavailable(this.name, "the connection was closed by the gateway");
    }
    live.onclose = () => {
      if (this.live !== live) return;
      this.live = undefined;
      if (!this.closed) {
        this.noteFailure();
        const detail = this.lastFailure ? ` (last stderr line: ${this.lastFailure})` : "";
        this.options.health?.failed(this.name, "closed", `the connection closed unexpectedly${detail}`);
        this.log.warn({ retryInMs: Math.max(0, this.retryAt - Date.now()) }, "backend connection closed");
      }
    };
    this.live = live;
    this.era = live.era;
    this.protocolVersion = live.protocolVersion;
    this.serverCapabilities = live.serverCapabilities;
    this.serverInfo = live.serverInfo;
    this.instructions = live.instructions;
    this.failures = 0;
    this.options.health?.connected(this.name, { era: live.era, protocolVersion: live.protocolVersion });
    this.options.guard?.connected(this);
    this.log.info(
      { server: this.serverInfo?.name, version: this.serverInfo?.version, era: live.era, protocolVersion: live.protocolVersion },
      "backend connected",
    );
    return live;
  }

  /**
   * Refuses a call to a definition the pins hold back. A connection that just opened (a restarted
   * backend may list something else) is checked first: the call waits for that check.
   */
  private async guardCall(guard: DefinitionGuard, request: Request): Promise<void> {
    if (!this.live) await this.open();
    const pending = guard.pending(this.name);
    if (pending) await pending;
    const refused = guard.refusal(this.name, request);
    if (refused) throw refused;
  }

  /** The listener the link reports to: the backend's list changes are checked against the pins too. */
  private listener(): BackendListener {
    const { listener, guard } = this.options;
    if (!guard) return listener;
    return {
      onRequest: (request, signal) => listener.onRequest(request, signal),
      onNotification: (notification) => {
        if (notification.method.endsWith("/list_changed")) guard.listChanged(this);
        listener.onNotification(notification);
      },
    };
  }

  private noteFailure(): void {
    this.failures += 1;
    this.retryAt = Date.now() + Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (this.failures - 1));
  }

  private async drop(reason: string): Promise<void> {
    const live = this.live;
    this.live = undefined;
    if (live) {
      this.log.debug({ reason }, "closing backend connection");
      await live.close().catch(() => undefined);
    }
  }

  /**
   * Turns transport and SDK errors into errors that name the backend; the backend's own JSON-RPC errors pass through.
   * A request given up on rejects as a timeout does (as in the SDK): `signal`, aborted, says it was the caller's doing.
   */
  private explain(err: unknown, phase: "connect" | "request" = "request", signal?: AbortSignal): McpError {
    if (err instanceof McpError) {
      if (err.code === ErrorCode.RequestTimeout)
        return signal?.aborted ? callCancelled(this.name, signal.reason) : backendTimeout(this.name, this.spec.timeoutMs);
      if (err.code === ErrorCode.ConnectionClosed) {
        const detail = this.lastFailure ? ` (last stderr line: ${this.lastFailure})` : "";
        return backendUnavailable(this.name, `the connection closed${phase === "connect" ? " while connecting" : " before the backend answered"}${detail}`);
      }
      return err;
    }
    return backendUnavailable(this.name, `${phase === "connect" ? "cannot connect: " : ""}${describeError(err)}`);
  }
}

function isSessionExpired(err: unknown): boolean {
  return (err as { code?: unknown }).code === 404 || /\b404\b.*session|session.*not found/i.test(describeError(err));
}
