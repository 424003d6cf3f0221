import { backendProcessesBusy } from "../protocol/gateway-errors.ts";
import type { Logger } from "../log/logger.ts";
import type { BackendConnection } from "./backend-connection.ts";
import type { BackendSpec } from "./backend-spec.ts";

/** What a connection to a backend is for (backend-pool.ts): one shared, one per capability set for lists, one per session that needs its own. */
export type ConnectionKind = "shared" | "listing" | "dedicated";

interface Holder {
  kind: ConnectionKind;
  /** Whether the connection holds state its user relies on (resource subscriptions): it is not closed to make room. */
  keeps?: () => boolean;
}

/**
 * The cap on child processes per stdio backend. Every connection to a stdio backend is (or may
 * start) one process, so each counts from the moment it is built until it is closed. The shared
 * connection always has its place: every session without a connection of its own relies on it.
 * Listing and dedicated connections share the other max − 1 places; at that count the least
 * recently used one with no call in flight is closed to make room (its user opens another on
 * its next use), and when every one is busy, the new one is refused with a JSON-RPC error.
 */
export class ProcessSlots {
  private readonly byBackend = new Map<string, Map<BackendConnection, Holder>>();

  constructor(
    readonly maxPerBackend: number,
    private readonly logger: Logger,
  ) {
    if (!Number.isInteger(maxPerBackend) || maxPerBackend < 2) {
      throw new RangeError(`the process cap per backend must be a whole number of at least 2 (one shared process and one more), not ${maxPerBackend}`);
    }
  }

  /**
   * Makes room for a new `kind` connection to `spec`, before it is built. Returns a promise that
   * settles when the process closed to make room has exited (the new one waits for it, so the
   * count never goes over the cap), or undefined when there was room; throws -32017 when none can be made.
   */
  makeRoom(spec: BackendSpec, kind: ConnectionKind): Promise<void> | undefined {
    if (spec.transport !== "stdio" || kind === "shared") return undefined;
    const max = this.maxOf(spec);
    const held = this.held(spec.name);
    let others = 0;
    let victim: BackendConnection | undefined;
    for (const [connection, holder] of held) {
      if (holder.kind === "shared") continue;
      others += 1;
      if (connection.busy || holder.keeps?.()) continue;
      if (!victim || connection.lastUsedAt < victim.lastUsedAt) victim = connection;
    }
    if (others < max - 1) return undefined;
    if (!victim) throw backendProcessesBusy(spec.name, max, spec.limits?.maxProcesses !== undefined);
    const kindOfVictim = held.get(victim)?.kind;
    held.delete(victim);
    this.logger.info(
      { backend: spec.name, closed: kindOfVictim, for: kind, maxProcesses: max },
      "backend process closed to make room (least recently used, idle)",
    );
    return victim.close();
  }

  /** The backend's own cap (backend add --max-processes), else the gateway's. */
  maxOf(spec: BackendSpec): number {
    return spec.limits?.maxProcesses ?? this.maxPerBackend;
  }

  /** Counts a connection just built for a stdio backend. */
  hold(connection: BackendConnection, kind: ConnectionKind, keeps?: () => boolean): void {
    if (connection.spec.transport !== "stdio") return;
    this.held(connection.name).set(connection, { kind, ...(keeps && { keeps }) });
  }

  /** Connections of a backend that hold a place (built and not closed), by kind. */
  counts(backend: string): Record<ConnectionKind, number> {
    const counts = { shared: 0, listing: 0, dedicated: 0 } satisfies Record<ConnectionKind, number>;
    for (const holder of this.held(backend).values()) counts[holder.kind] += 1;
    return counts;
  }

  /** A backend's holders, without the connections closed since (by their users, or at a crash of the gateway's own doing). */
  private held(backend: string): Map<BackendConnection, Holder> {
    let held = this.byBackend.get(backend);
    if (!held) {
      held = new Map();
      this.byBackend.set(backend, held);
    }
    for (const connection of held.keys()) if (connection.isClosed) held.delete(connection);
    return held;
  }
}
