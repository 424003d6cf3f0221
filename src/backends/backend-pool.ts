import type { ClientCapabilities, LoggingLevel, Notification, Request, Result } from "@modelcontextprotocol/sdk/types.js";
import { ErrorCode, McpError } from "../protocol/mcp-values.ts";
import type { Logger } from "../log/logger.ts";
import { BackendConnection, type BackendHealthObserver } from "./backend-connection.ts";
import type { BackendSpec } from "./backend-spec.ts";
import { ConcurrencyGate, DEFAULT_MAX_QUEUE } from "./concurrency-gate.ts";
import { DEFAULTS } from "../config/settings.ts";
import { ProcessSlots } from "./process-slots.ts";
import type { DefinitionGuard } from "../pinning/definition-guard.ts";
import type { CredentialCaller } from "../credentials/bound-credential.ts";
import { CredentialBinder } from "./credential-binder.ts";

/** A front session as a backend connection sees it: where to deliver what the backend starts. */
export interface SessionSink {
  readonly id: string;
  deliverNotification(backend: string, notification: Notification): void;
  relayRequest(backend: string, request: Request, signal: AbortSignal): Promise<Result>;
  /** The logging level the client asked for (undefined: none), for arbitrating a shared connection's level. */
  requestedLogLevel(): LoggingLevel | undefined;
  /** Whether the client is subscribed to this backend resource (as the backend names it). */
  isSubscribed(backend: string, uri: string): boolean;
  /** Whether the client holds subscriptions at this backend: then its own connection there is not closed to make room. */
  holdsSubscriptions?(backend: string): boolean;
}

/** What the pool holds of one backend now (BackendPool.holdings). */
export interface BackendHoldings {
  shared: number;
  dedicated: number;
  processes: { pid: number; session: string | null }[];
}

export interface BackendPoolOptions {
  env: Record<string, string | undefined>;
  logger: Logger;
  version: string;
  /** Told when connections open and fail (metrics). */
  health?: BackendHealthObserver;
  /** Child processes one stdio backend may have at once (MCPGW_MAX_PROCESSES_PER_BACKEND; see process-slots.ts). */
  maxProcessesPerBackend?: number;
  /** Tool-definition pinning, applied on every connection (src/pinning/pin-guard.ts). */
  guard?: DefinitionGuard;
  /** Binds per-caller backends to their callers (without it, none can be reached: they fail closed). */
  credentials?: CredentialBinder;
}

/**
 * What connections are shared by: the backend, and for a per-caller backend the caller's
 * credential key, so that no connection (no backend session) carries two callers' credentials.
 */
function connectionKey(spec: BackendSpec): string {
  return spec.credential ? `${spec.name}\u0000${spec.credential.key}` : spec.name;
}

/** How many connections are handed out between two prunings of the closed ones from `handedOut`. */
const PRUNE_EVERY = 256;

/** Notifications that concern every client of a backend, so a shared connection may fan them out. */
const BROADCAST = new Set([
  "notifications/message",
  "notifications/tools/list_changed",
  "notifications/resources/list_changed",
  "notifications/prompts/list_changed",
  "notifications/resources/updated",
]);

/**
 * Who gets which backend connection. A client that declared sampling, elicitation or roots gets
 * a dedicated connection (for stdio, its own process): the backend may send it requests, and on a
 * shared connection nothing would say which client a request belongs to. Every other client
 * shares one connection per backend, multiplexed by the SDK client's own request ids; it is
 * initialised without those capabilities, so the backend never starts a request on it.
 */
export class BackendPool {
  private readonly shared = new Map<string, { connection: BackendConnection; sinks: Set<SessionSink> }>();
  private readonly gates = new Map<string, { spec: BackendSpec; gate: ConcurrencyGate }>();
  /** Connections for lists, per backend and client capabilities (acquireForListing). */
  private readonly listing = new Map<string, BackendConnection>();
  /** Every connection handed out and not known closed: shared, dedicated and leased alike. */
  private readonly handedOut = new Set<BackendConnection>();
  private trackedSincePrune = 0;
  /** The session each dedicated connection serves (its sink: a session's id is known only once it opened). */
  private readonly owners = new WeakMap<BackendConnection, SessionSink>();
  /** The cap on processes per stdio backend: every connection to one is counted, from built to closed. */
  readonly processes: ProcessSlots;

  /**
   * Holds shared connections opened only to learn what backends offer (a session whose own
   * connections open on first use); what arrives on them for it is dropped.
   */
  readonly discoverySink: SessionSink = {
    id: "discovery",
    deliverNotification: () => undefined,
    relayRequest: async (_backend, request) => {
      throw new McpError(ErrorCode.MethodNotFound, `${request.method}: this gateway connection declared no such capability`);
    },
    requestedLogLevel: () => undefined,
    isSubscribed: () => false,
  };

  private readonly credentials: CredentialBinder;

  constructor(private readonly options: BackendPoolOptions) {
    this.processes = new ProcessSlots(options.maxProcessesPerBackend ?? DEFAULTS.maxProcessesPerBackend, options.logger);
    this.credentials = options.credentials ?? new CredentialBinder({});
  }

  /**
   * The spec to acquire connections with on behalf of `caller`: the stored one for a static
   * backend, a copy bound to the caller's credential for a per-caller one (stable, so that
   * `connection.spec === pool.bind(spec, caller)` tells whether a held connection is still right).
   */
  bind(spec: BackendSpec, caller: CredentialCaller | undefined): BackendSpec {
    return this.credentials.bind(spec, caller);
  }

  /** Whether a client with these capabilities needs a connection of its own. */
  static needsDedicated(capabilities: ClientCapabilities): boolean {
    return Boolean(capabilities.sampling || capabilities.elicitation || capabilities.roots);
  }

  /**
   * The connection a client with these capabilities uses. A new dedicated connection to a stdio
   * backend at its process cap first closes the least recently used idle one, or, when every one
   * is busy, throws a JSON-RPC error (-32017) naming the backend and the cap.
   */
  acquire(spec: BackendSpec, sink: SessionSink, capabilities: ClientCapabilities): BackendConnection {
    if (BackendPool.needsDedicated(capabilities)) {
      const startAfter = this.processes.makeRoom(spec, "dedicated");
      const connection = this.track(
        new BackendConnection(spec, {
          ...this.connectionOptions(capabilities),
          ...(startAfter && { startAfter }),
          listener: {
            onRequest: (request, signal) => sink.relayRequest(spec.name, request, signal),
            onNotification: (notification) => sink.deliverNotification(spec.name, notification),
          },
        }),
      );
      this.processes.hold(connection, "dedicated", sink.holdsSubscriptions && (() => sink.holdsSubscriptions!(spec.name)));
      this.owners.set(connection, sink);
      return connection;
    }
    const key = connectionKey(spec);
    let entry = this.shared.get(key);
    if (!entry || entry.connection.spec !== spec) {
      const sinks = new Set<SessionSink>();
      const log = this.options.logger.child({ backend: spec.name });
      entry = {
        sinks,
        connection: this.track(
          new BackendConnection(spec, {
            ...this.connectionOptions({}),
            listener: {
              onRequest: async (request) => {
                throw new McpError(ErrorCode.MethodNotFound, `${request.method}: this gateway connection declared no such capability`);
              },
              onNotification: (notification) => {
                if (!BROADCAST.has(notification.method))
                  return log.debug({ method: notification.method }, "notification on a shared connection dropped: no session to attribute it to");
                for (const target of sinks) target.deliverNotification(spec.name, notification);
              },
            },
          }),
        ),
      };
      this.shared.set(key, entry);
      this.processes.hold(entry.connection, "shared");
    }
    entry.sinks.add(sink);
    return entry.connection;
  }

  /** The session no longer uses the connection: dedicated ones close, shared ones close with their last session. */
  async release(connection: BackendConnection, sink: SessionSink): Promise<void> {
    const key = connectionKey(connection.spec);
    const entry = this.shared.get(key);
    if (entry?.connection === connection) {
      entry.sinks.delete(sink);
      if (entry.sinks.size === 0) {
        this.shared.delete(key);
        await connection.close();
      }
      return;
    }
    await connection.close();
  }

  /**
   * Sends a notification to every session connected to the backend, as if the backend had sent it
   * (pins: list_changed): shared connections fan it out to their sessions, dedicated ones hand it to
   * theirs, listing connections drop it, as with the backend's own.
   */
  announce(backend: string, notification: Notification): void {
    for (const connection of this.handedOut) if (connection.name === backend) connection.announce(notification);
  }

  /** The backend's concurrency cap, shared by every session (undefined: no cap). A changed spec gets a fresh gate. */
  gate(spec: BackendSpec): ConcurrencyGate | undefined {
    const max = spec.limits?.maxConcurrency;
    if (max === undefined) return undefined;
    const entry = this.gates.get(spec.name);
    // By version, not identity: every caller's bound copy of a per-caller spec shares the one cap.
    if (entry?.spec.updatedAt === spec.updatedAt) return entry.gate;
    const gate = new ConcurrencyGate(spec.name, max, spec.limits?.maxQueue ?? DEFAULT_MAX_QUEUE);
    this.gates.set(spec.name, { spec, gate });
    return gate;
  }

  /** The sessions attached to a shared connection (for logging level arbitration). */
  sharers(connection: BackendConnection): ReadonlySet<SessionSink> | undefined {
    const entry = this.shared.get(connectionKey(connection.spec));
    return entry?.connection === connection ? entry.sinks : undefined;
  }

  /** A backend changed or was removed: its shared connection closes; sessions reconnect on next use. */
  async forget(name: string): Promise<void> {
    const listing = [...this.listing.entries()].filter(([, c]) => c.name === name);
    for (const [key] of listing) this.listing.delete(key);
    // Every caller's shared connection to it: one per credential key for a per-caller backend.
    const shared = [...this.shared.entries()].filter(([, entry]) => entry.connection.name === name);
    for (const [key] of shared) this.shared.delete(key);
    await Promise.all([...listing.map(([, c]) => c.close()), ...shared.map(([, entry]) => entry.connection.close())]);
  }

  /**
   * A connection initialised with `capabilities`, shared by every client that declared the same
   * ones, for requests during which a backend starts nothing (lists): what a backend lists can
   * depend on the client's capabilities (server-everything lists its sampling tools only to
   * clients that can sample), but a list needs no connection of its own. A request the backend
   * starts on it has no client to go to and is refused.
   */
  acquireForListing(spec: BackendSpec, capabilities: ClientCapabilities): BackendConnection {
    const key = `${connectionKey(spec)}\u0000${JSON.stringify(capabilities)}`;
    const current = this.listing.get(key);
    if (current && !current.isClosed && current.spec === spec) return current;
    const startAfter = this.processes.makeRoom(spec, "listing");
    const connection = this.track(
      new BackendConnection(spec, {
        ...this.connectionOptions(capabilities),
        ...(startAfter && { startAfter }),
        listener: { onRequest: (request, signal) => this.discoverySink.relayRequest(spec.name, request, signal), onNotification: () => undefined },
      }),
    );
    this.listing.set(key, connection);
    this.processes.hold(connection, "listing");
    return connection;
  }

  /**
   * Cancels every call in flight at any backend, each failing with `reason` (the backends are
   * told): at shutdown past the drain bound, so that callers get an answer that says why
   * instead of a connection reset.
   */
  cancelInFlight(reason: unknown): void {
    for (const connection of this.handedOut) {
      if (connection.isClosed) this.handedOut.delete(connection);
      else connection.cancelInFlight(reason);
    }
  }

  /**
   * The backend's open connections now, shared (one per credential, and the listing ones) or
   * dedicated to a session, and the processes behind them (stdio), each with the session it
   * serves (null: shared). Walks every connection handed out: for the admin API, not the hot path.
   */
  holdings(backend: string): BackendHoldings {
    const holdings: BackendHoldings = { shared: 0, dedicated: 0, processes: [] };
    for (const connection of this.handedOut) {
      if (connection.name !== backend || connection.isClosed || !connection.isOpen) continue;
      const owner = this.owners.get(connection);
      if (owner) holdings.dedicated += 1;
      else holdings.shared += 1;
      const pid = connection.pid;
      if (pid !== undefined) holdings.processes.push({ pid, session: owner?.id || null });
    }
    return holdings;
  }

  private track(connection: BackendConnection): BackendConnection {
    // Closed ones leave the set now and then, so that sessions coming and going do not grow it.
    if (++this.trackedSincePrune >= PRUNE_EVERY) {
      this.trackedSincePrune = 0;
      for (const handed of this.handedOut) if (handed.isClosed) this.handedOut.delete(handed);
    }
    this.handedOut.add(connection);
    return connection;
  }

  async closeAll(): Promise<void> {
    const entries = [...this.shared.values()];
    const listing = [...this.listing.values()];
    this.shared.clear();
    this.listing.clear();
    await Promise.all([...entries.map((entry) => entry.connection.close()), ...listing.map((c) => c.close())]);
  }

  private connectionOptions(capabilities: ClientCapabilities) {
    return {
      capabilities,
      clientInfo: { name: "mcpgw", version: this.options.version },
      env: this.options.env,
      logger: this.options.logger,
      ...(this.options.health && { health: this.options.health }),
      ...(this.options.guard && { guard: this.options.guard }),
    };
  }
}
