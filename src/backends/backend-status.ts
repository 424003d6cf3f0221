import type { BackendEra, BackendHealthObserver } from "./backend-connection.ts";
import type { BackendHoldings } from "./backend-pool.ts";
import type { BackendSpec } from "./backend-spec.ts";

/**
 * The live state of the backends as THIS gateway process sees it through its own connections
 * (it connects on first use and never polls): health, the era and revision they speak, the tools
 * they last listed with their pins, and the connections and processes open to them. The admin API
 * reads it through BackendStatusReader, the only part of the backends it is given.
 */

/** One backend's live state (GET /v1/admin/backends/status). */
export interface BackendStatus {
  name: string;
  transport: BackendSpec["transport"];
  /** up: the last connection opened; down: the last attempt failed or an open connection crashed; unknown: not tried yet. */
  health: "up" | "down" | "unknown";
  /** The last failure's message (kept once the backend is up again); null when none since the gateway started. */
  lastError: string | null;
  /** When health became what it is (ISO); null while unknown. */
  since: string | null;
  era: BackendEra | null;
  protocolVersion: string | null;
  /** What the backend last listed to this gateway, by name; [] before it ever did. */
  tools: { name: string; description: string | null; pin: string | null }[];
  connections: { shared: number; dedicated: number };
  /** stdio child processes, each with the session it serves (null: a shared one). */
  processes: { pid: number; session: string | null }[];
}

/** The read-only view the admin API is given (src/gateway.ts builds it). */
export interface BackendStatusReader {
  /** Every registered backend's state, by name. */
  list(): BackendStatus[];
  /** One backend's state; undefined when no backend of that name is registered. */
  get(name: string): BackendStatus | undefined;
}

interface Observed {
  health: "up" | "down";
  since: number;
  lastError: string | null;
  era?: BackendEra;
  protocolVersion?: string;
  /** The last listing per capability scope (backends list more to clients that can sample…): name → description. */
  tools: Map<string, Map<string, string | null>>;
}

/**
 * Collects what connections report (a BackendHealthObserver), passing health on to `next` (the
 * metrics). Tools are kept per capability scope, each scope's last listing replacing its previous one.
 */
export class BackendStatusBoard implements BackendHealthObserver {
  private readonly observed = new Map<string, Observed>();

  constructor(private readonly next?: BackendHealthObserver) {}

  connected(backend: string, link?: { era: BackendEra; protocolVersion: string | undefined }): void {
    const state = this.enter(backend, "up");
    if (link) {
      state.era = link.era;
      if (link.protocolVersion === undefined) delete state.protocolVersion;
      else state.protocolVersion = link.protocolVersion;
    }
    this.next?.connected(backend, link);
  }

  failed(backend: string, reason: "connect" | "closed", error?: string): void {
    this.enter(backend, "down").lastError = error ?? (reason === "connect" ? "the connection attempt failed" : "the connection closed unexpectedly");
    this.next?.failed(backend, reason, error);
  }

  toolsListed(backend: string, scope: string, firstPage: boolean, tools: readonly unknown[]): void {
    const state = this.stateOf(backend);
    let listed = state.tools.get(scope);
    if (!listed || firstPage) {
      listed = new Map();
      state.tools.set(scope, listed);
    }
    for (const tool of tools as { name?: unknown; description?: unknown }[]) {
      if (typeof tool?.name === "string") listed.set(tool.name, typeof tool.description === "string" ? tool.description : null);
    }
    this.next?.toolsListed?.(backend, scope, firstPage, tools);
  }

  /** A backend changed or was removed: what its old connections reported no longer holds (unknown until the next one reports). */
  forget(backend: string): void {
    this.observed.delete(backend);
  }

  /** What was observed of a backend; undefined before any connection to it reported. */
  of(backend: string): Readonly<Observed> | undefined {
    return this.observed.get(backend);
  }

  private stateOf(backend: string): Observed {
    let state = this.observed.get(backend);
    if (!state) {
      // A listing was answered, so the backend is up (its connection reports connected before anything is listed on it).
      state = { health: "up", since: Date.now(), lastError: null, tools: new Map() };
      this.observed.set(backend, state);
    }
    return state;
  }

  private enter(backend: string, health: Observed["health"]): Observed {
    const state = this.observed.get(backend);
    if (!state) {
      const fresh: Observed = { health, since: Date.now(), lastError: null, tools: new Map() };
      this.observed.set(backend, fresh);
      return fresh;
    }
    if (state.health !== health) {
      state.health = health;
      state.since = Date.now();
    }
    return state;
  }
}

export interface LiveBackendStatusDeps {
  /** The registered backends (the running gateway's registry). */
  registry: { list(): BackendSpec[]; get(name: string): BackendSpec | undefined };
  board: BackendStatusBoard;
  /** The connections and processes open to a backend (BackendPool.holdings). */
  holdings(backend: string): BackendHoldings;
  /** A tool's pin status as the pins' guard says (null: not checked, or nothing recorded). */
  pinOf?(backend: string, tool: string): string | null;
}

/** The BackendStatusReader of a running gateway: its registry, its pool and what its connections reported. */
export class LiveBackendStatus implements BackendStatusReader {
  constructor(private readonly deps: LiveBackendStatusDeps) {}

  list(): BackendStatus[] {
    return this.deps.registry
      .list()
      .map((spec) => this.status(spec))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  get(name: string): BackendStatus | undefined {
    const spec = this.deps.registry.get(name);
    return spec && this.status(spec);
  }

  private status(spec: BackendSpec): BackendStatus {
    const observed = this.deps.board.of(spec.name);
    const { shared, dedicated, processes } = this.deps.holdings(spec.name);
    const tools = new Map<string, string | null>();
    for (const listed of observed?.tools.values() ?? []) for (const [name, description] of listed) if (!tools.has(name)) tools.set(name, description);
    return {
      name: spec.name,
      transport: spec.transport,
      health: observed?.health ?? "unknown",
      lastError: observed?.lastError ?? null,
      since: observed ? new Date(observed.since).toISOString() : null,
      era: observed?.era ?? null,
      protocolVersion: observed?.protocolVersion ?? null,
      tools: [...tools]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, description]) => ({ name, description, pin: this.deps.pinOf?.(spec.name, name) ?? null })),
      connections: { shared, dedicated },
      processes: processes.sort((a, b) => a.pid - b.pid),
    };
  }
}
