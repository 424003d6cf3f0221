import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { ClientCapabilities, Implementation, JSONRPCMessage, Notification, Request, Result, ServerCapabilities } from "@modelcontextprotocol/sdk/types.js";
import { ErrorCode, McpError } from "../protocol/mcp-values.ts";
import { describeError } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import type { BackendSpec } from "./backend-spec.ts";
import { BunStdioTransport } from "./bun-stdio-transport.ts";
import { ClientSideTransport } from "./client-side-transport.ts";
import { DirectRequests, type DirectRequestOptions } from "./direct-requests.ts";
import { type Discovered, type Envelope, MODERN_PROTOCOL_VERSION, isModernVersionError, readDiscoverResult, withEnvelope } from "./modern-envelope.ts";
import { createBackendTransport, createModernHttpTransport } from "./transport-factory.ts";

/** The protocol era a backend speaks: 2025-era (initialize, sessions) or 2026-07-28 (stateless). */
export type BackendEra = "legacy" | "modern";

/** What a connection does with traffic the backend starts: server→client requests and notifications. */
export interface BackendListener {
  onRequest(request: Request, signal: AbortSignal): Promise<Result>;
  onNotification(notification: Notification): void;
}

export interface BackendLinkOptions {
  /** Declared in initialize (2025-era), and the default `clientCapabilities` of each modern request. */
  capabilities: ClientCapabilities;
  clientInfo: Implementation;
  env: Record<string, string | undefined>;
  logger: Logger;
  listener: BackendListener;
  /** Each line a stdio backend writes to stderr. */
  onStderrLine?: (line: string) => void;
  /** The era the backend is known to speak: no detection. */
  era?: BackendEra;
  /** Abandons the opening: its transport closes (a stdio child is ended) and the opening rejects. */
  signal?: AbortSignal;
}

/** One open connection to a backend, in the era the backend speaks. */
export interface BackendLink {
  readonly era: BackendEra;
  /** The revision in use: agreed in initialize (2025-era) or the one each request names (modern). */
  readonly protocolVersion: string | undefined;
  readonly serverCapabilities: ServerCapabilities;
  readonly serverInfo: Implementation | undefined;
  readonly instructions: string | undefined;
  /** The backend's process id over stdio (undefined over HTTP). */
  readonly pid: number | undefined;
  /** Called once when the link closes, by close() or on its own (process exit, network). */
  onclose?: () => void;
  /** Sends a request; on a modern link with the 2026-07-28 envelope, declaring `clientCapabilities` (default: the link's). */
  request(request: Request, options: DirectRequestOptions, clientCapabilities?: ClientCapabilities): Promise<Result>;
  notify(notification: Notification): Promise<void>;
  /** Cancels the gateway's requests in flight, each failing with `reason`. */
  cancelAll(reason: unknown): void;
  close(): Promise<void>;
}

/**
 * How long detection waits for an answer to `server/discover` before taking a silent backend for
 * a 2025-era one. SDK servers of both eras answer at once (a 2025 one with -32601, measured a few
 * ms after it starts), so this is only ever waited out by a server that ignores unknown requests.
 */
export const PROBE_WAIT_MS = 1_000;

/**
 * Opens a connection to the backend in its era. Detection (basic/versioning, "era detection"):
 * a `server/discover` with the 2026-07-28 envelope goes first; a DiscoverResult, or an
 * UnsupportedProtocolVersionError offering 2026-07-28, means a modern backend, talked to
 * statelessly from then on; any other answer, or none within PROBE_WAIT_MS, means a 2025-era
 * one, initialised as before. Over stdio both happen on the one process (2025 SDK servers answer
 * the probe with an error and initialise normally after it); over HTTP the probe is one POST.
 * An initialize refused with a modern version error (a modern backend slower than the probe
 * wait) turns to the modern era. The HTTP+SSE transport exists only in the 2025 era.
 */
export async function openBackendLink(spec: BackendSpec, options: BackendLinkOptions): Promise<BackendLink> {
  const era = spec.transport === "sse" ? "legacy" : options.era;
  if (era === "legacy") return openLegacy(spec, options);
  return spec.transport === "stdio" ? openStdio(spec, options, era) : openHttp(spec, options, era);
}

/** A transport with DirectRequests on it; the messages that are not theirs go to `rest`. */
class Wiring {
  readonly requests: DirectRequests;
  rest: Pick<Transport, "onmessage" | "onclose" | "onerror"> = {};

  constructor(readonly transport: Transport) {
    this.requests = new DirectRequests(transport);
    transport.onmessage = (message, extra) => {
      if (!this.requests.take(message)) this.rest.onmessage?.(message, extra);
    };
    transport.onclose = () => {
      this.requests.close();
      this.rest.onclose?.();
    };
    transport.onerror = (error) => this.rest.onerror?.(error);
  }

  /** Closes the transport if `signal` aborts before the returned function is called. */
  closeOnAbort(signal: AbortSignal | undefined): () => void {
    if (!signal) return () => undefined;
    const close = () => void this.transport.close().catch(() => undefined);
    if (signal.aborted) close();
    else signal.addEventListener("abort", close, { once: true });
    return () => signal.removeEventListener("abort", close);
  }
}

type ProbeOutcome = { kind: "modern"; discovered: Discovered | undefined } | { kind: "legacy" } | { kind: "closed" } | { kind: "failed"; error: unknown };

/** The discover probe: its outcome, and a way to stop waiting for it. */
function probe(wiring: Wiring, options: BackendLinkOptions, timeoutMs: number): { outcome: Promise<ProbeOutcome>; abandon(): void } {
  const abort = new AbortController();
  const outcome = wiring.requests
    .request(discoverRequest(options), { timeoutMs, signal: abort.signal })
    .then((result): ProbeOutcome => {
      const discovered = readDiscoverResult(result);
      return discovered ? { kind: "modern", discovered } : { kind: "legacy" };
    })
    .catch((err: unknown): ProbeOutcome => {
      if (isModernVersionError(err as McpError)) return { kind: "modern", discovered: undefined };
      if (err instanceof McpError) return err.code === ErrorCode.ConnectionClosed ? { kind: "closed" } : { kind: "legacy" };
      // An HTTP status with no JSON-RPC error in it is an answer too; a network failure is not.
      return err instanceof StreamableHTTPError ? { kind: "legacy" } : { kind: "failed", error: err };
    });
  return { outcome, abandon: () => abort.abort("era probe no longer needed") };
}

async function openStdio(spec: BackendSpec, options: BackendLinkOptions, era: "modern" | undefined): Promise<BackendLink> {
  const wiring = new Wiring(createBackendTransport(spec, transportOptions(options)));
  const watching = wiring.closeOnAbort(options.signal);
  try {
    await wiring.transport.start();
    if (era === "modern") return await discover(wiring, options, spec.timeoutMs);
    const started = performance.now();
    const probing = probe(wiring, options, spec.timeoutMs);
    const first = await within(probing.outcome, Math.min(PROBE_WAIT_MS, spec.timeoutMs));
    options.logger.debug({ outcome: first?.kind ?? "no answer", probeMs: Math.round(performance.now() - started) }, "backend era probe");
    if (first?.kind === "modern") return new ModernLink(wiring, first.discovered, options);
    if (first?.kind === "closed") {
      // Some 2025-era servers exit on a request they do not know before initialize: start it again, unprobed.
      options.logger.info("backend exited on the server/discover probe: starting it again as a 2025-era server");
      return await openLegacy(spec, options);
    }
    try {
      const link = await initialize(wiring, options, spec.timeoutMs);
      probing.abandon();
      return link;
    } catch (err) {
      if (!isModernVersionError(err as McpError)) throw err;
      // A modern backend that took longer than the probe wait to answer: its discover answer follows.
      const late = await probing.outcome;
      return late.kind === "modern" ? new ModernLink(wiring, late.discovered, options) : await discover(wiring, options, spec.timeoutMs);
    }
  } catch (err) {
    await wiring.transport.close().catch(() => undefined);
    throw err;
  } finally {
    watching();
  }
}

async function openHttp(spec: BackendSpec, options: BackendLinkOptions, era: "modern" | undefined): Promise<BackendLink> {
  const wiring = new Wiring(createModernHttpTransport(spec, { ...transportOptions(options), protocolVersion: MODERN_PROTOCOL_VERSION }));
  const watching = wiring.closeOnAbort(options.signal);
  let first: ProbeOutcome | undefined;
  try {
    await wiring.transport.start();
    if (era === "modern") return await discover(wiring, options, spec.timeoutMs);
    const started = performance.now();
    first = await within(probe(wiring, options, spec.timeoutMs).outcome, Math.min(PROBE_WAIT_MS, spec.timeoutMs));
    options.logger.debug({ outcome: first?.kind ?? "no answer", probeMs: Math.round(performance.now() - started) }, "backend era probe");
    if (first?.kind === "modern") return new ModernLink(wiring, first.discovered, options);
  } catch (err) {
    await wiring.transport.close().catch(() => undefined);
    throw err;
  } finally {
    watching();
  }
  await wiring.transport.close(); // aborts a probe still waiting
  options.signal?.throwIfAborted();
  // Nothing answered at all (refused, unresolvable): initialize would fail the same way.
  if (first?.kind === "failed") throw first.error;
  try {
    return await openLegacy(spec, options);
  } catch (err) {
    if (isModernVersionError(httpJsonRpcError(err))) return openHttp(spec, options, "modern");
    throw err;
  }
}

async function openLegacy(spec: BackendSpec, options: BackendLinkOptions): Promise<BackendLink> {
  const wiring = new Wiring(createBackendTransport(spec, transportOptions(options)));
  const watching = wiring.closeOnAbort(options.signal);
  try {
    await wiring.transport.start();
    return await initialize(wiring, options, spec.timeoutMs);
  } catch (err) {
    await wiring.transport.close().catch(() => undefined);
    throw err;
  } finally {
    watching();
  }
}

/**
 * The 2025-era handshake, by the SDK client, on a running transport. The client stays attached
 * for what the backend starts (requests such as sampling, notifications); the gateway's own
 * requests bypass it (DirectRequests). On failure the transport is left open for the caller.
 */
async function initialize(wiring: Wiring, options: BackendLinkOptions, timeoutMs: number): Promise<BackendLink> {
  const side = new ClientSideTransport(wiring.transport);
  wiring.rest = side;
  const client = new Client(options.clientInfo, { capabilities: options.capabilities });
  client.fallbackRequestHandler = (request, extra) => options.listener.onRequest(request, extra.signal);
  client.fallbackNotificationHandler = async (notification) => options.listener.onNotification(notification);
  client.onerror = (err) => logTransportError(options.logger, err);
  await client.connect(side, { timeout: timeoutMs });
  side.adopt();
  return new LegacyLink(client, wiring, side.protocolVersion);
}

/** `server/discover` as the one request that opens a modern link (era known or confirmed); throws unless answered with a DiscoverResult. */
async function discover(wiring: Wiring, options: BackendLinkOptions, timeoutMs: number): Promise<BackendLink> {
  const discovered = readDiscoverResult(await wiring.requests.request(discoverRequest(options), { timeoutMs }));
  if (!discovered) throw new McpError(ErrorCode.InvalidRequest, "the backend's answer to server/discover is not a DiscoverResult");
  return new ModernLink(wiring, discovered, options);
}

function discoverRequest(options: BackendLinkOptions): Request {
  return withEnvelope({ method: "server/discover" }, envelopeOf(options));
}

function envelopeOf(options: BackendLinkOptions, capabilities?: ClientCapabilities): Envelope {
  return { protocolVersion: MODERN_PROTOCOL_VERSION, clientCapabilities: capabilities ?? options.capabilities, clientInfo: options.clientInfo };
}

class LegacyLink implements BackendLink {
  cancelAll(reason: unknown): void {
    this.wiring.requests.cancelAll(reason);
  }

  readonly era = "legacy";
  onclose?: () => void;

  constructor(
    private readonly client: Client,
    private readonly wiring: Wiring,
    readonly protocolVersion: string | undefined,
  ) {
    client.onclose = () => this.onclose?.();
  }

  get serverCapabilities(): ServerCapabilities {
    return this.client.getServerCapabilities() ?? {};
  }

  get pid(): number | undefined {
    return processIdOf(this.wiring.transport);
  }

  get serverInfo(): Implementation | undefined {
    return this.client.getServerVersion();
  }

  get instructions(): string | undefined {
    return this.client.getInstructions();
  }

  request(request: Request, options: DirectRequestOptions): Promise<Result> {
    return this.wiring.requests.request(request, options);
  }

  notify(notification: Notification): Promise<void> {
    return this.client.notification(notification);
  }

  async close(): Promise<void> {
    try {
      await this.client.close();
    } finally {
      this.wiring.requests.close(); // whatever the transport reported, nothing waits on a closed link
    }
  }
}

/**
 * A 2026-07-28 backend: every request carries the envelope, nothing is negotiated or kept. What
 * the backend starts is only notifications (a modern server sends no requests; one that does is
 * told so), which go to the listener.
 */
class ModernLink implements BackendLink {
  cancelAll(reason: unknown): void {
    this.wiring.requests.cancelAll(reason);
  }

  readonly era = "modern";
  readonly protocolVersion = MODERN_PROTOCOL_VERSION;
  readonly serverCapabilities: ServerCapabilities;
  readonly serverInfo: Implementation | undefined;
  readonly instructions: string | undefined;
  onclose?: () => void;
  private readonly envelope: Envelope;

  constructor(
    private readonly wiring: Wiring,
    discovered: Discovered | undefined,
    private readonly options: BackendLinkOptions,
  ) {
    this.serverCapabilities = discovered?.capabilities ?? {};
    this.serverInfo = discovered?.serverInfo;
    this.instructions = discovered?.instructions;
    this.envelope = envelopeOf(options);
    wiring.rest = {
      onmessage: (message) => this.fromBackend(message),
      onclose: () => this.onclose?.(),
      onerror: (err) => logTransportError(options.logger, err),
    };
  }

  request(request: Request, options: DirectRequestOptions, clientCapabilities?: ClientCapabilities): Promise<Result> {
    const envelope = clientCapabilities === undefined ? this.envelope : envelopeOf(this.options, clientCapabilities);
    return this.wiring.requests.request(withEnvelope(request, envelope), options);
  }

  get pid(): number | undefined {
    return processIdOf(this.wiring.transport);
  }

  /** 2026-07-28 has no client notification but cancellation, which DirectRequests sends for its own requests. */
  async notify(notification: Notification): Promise<void> {
    this.options.logger.debug({ method: notification.method }, "notification not sent: a 2026-07-28 backend takes none");
  }

  async close(): Promise<void> {
    try {
      await this.wiring.transport.close();
    } finally {
      this.wiring.requests.close();
    }
  }

  private fromBackend(message: JSONRPCMessage): void {
    const raw = message as { id?: string | number; method?: string; params?: Record<string, unknown> };
    if (raw.method === undefined) return; // a late answer to a request given up on
    if (raw.id !== undefined) {
      const error = { code: ErrorCode.MethodNotFound, message: `${raw.method}: a 2026-07-28 client takes no requests (input comes by input_required results)` };
      void this.wiring.transport.send({ jsonrpc: "2.0", id: raw.id, error }).catch(() => undefined);
      return;
    }
    this.options.listener.onNotification({ method: raw.method, ...(raw.params && { params: raw.params }) });
  }
}

/**
 * A transport's error, at the level it deserves: an aborted stream is the gateway's own doing (a
 * session ending closes its backend's GET stream; a cancelled call closes its POST), so it is
 * debug, not a warning per backend at every session end.
 */
function logTransportError(logger: Logger, err: unknown): void {
  const aborted = (err as { name?: unknown }).name === "AbortError" || /\bAbortError\b|aborted/i.test(describeError(err));
  if (aborted) logger.debug({ err: describeError(err) }, "backend stream closed");
  else logger.warn({ err: describeError(err) }, "backend transport error");
}

function processIdOf(transport: Transport): number | undefined {
  return transport instanceof BunStdioTransport ? (transport.pid ?? undefined) : undefined;
}

function transportOptions(options: BackendLinkOptions) {
  return { env: options.env, logger: options.logger, ...(options.onStderrLine && { onStderrLine: options.onStderrLine }) };
}

/** The JSON-RPC error a refused HTTP POST carried in its body ("Error POSTing to endpoint: {…}"), if any. */
function httpJsonRpcError(err: unknown): { code?: unknown; data?: unknown } | undefined {
  if (!(err instanceof StreamableHTTPError)) return err as McpError;
  const body = /\{.*\}/s.exec(err.message)?.[0];
  if (body === undefined) return undefined;
  try {
    return (JSON.parse(body) as { error?: { code?: unknown; data?: unknown } }).error;
  } catch {
    return undefined;
  }
}

/** The promise's value, or undefined when it has not settled within `ms`. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}
