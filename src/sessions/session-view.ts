/** One MCP session as `mcpgw sessions list` shows it. */
export interface SessionView {
  id: string;
  subject: string;
  /** The client's name and version from initialize. */
  client?: string;
  /** /mcp or /mcp/<backend>. */
  route: string;
  openedAt: number;
  lastActivity: number;
  /** Backends the session has a connection of its own to, with the backend's process id (stdio, while it runs). */
  dedicated: { backend: string; pid?: number }[];
}

/** Who published a snapshot: one running gateway process. */
export interface GatewayInstance {
  /** Unique per process start: instance name, pid and a random suffix. */
  instance: string;
  host: string;
  pid: number;
  startedAt: number;
}

/** A gateway's sessions as it last published them (session-publisher.ts). */
export interface SessionSnapshot extends GatewayInstance {
  /** When the gateway last wrote or confirmed the snapshot: older than 3 × intervalMs means it is gone. */
  publishedAt: number;
  /** How often the gateway publishes, so that readers can judge staleness without its settings. */
  intervalMs: number;
  sessions: SessionView[];
}

/** Where running gateways publish their sessions: one row per gateway process. */
export interface SessionSnapshotRepository {
  /** Writes the instance's snapshot, replacing the one it wrote before. */
  put(snapshot: SessionSnapshot): Promise<void>;
  /** Confirms an unchanged snapshot (moves publishedAt); false when the row is gone, so the caller puts it again. */
  touch(instance: string, publishedAt: number): Promise<boolean>;
  /** Removes the instance's snapshot (clean shutdown). */
  remove(instance: string): Promise<void>;
  /** Removes snapshots last published before `before` (gateways that died without removing theirs); returns how many. */
  removePublishedBefore(before: number): Promise<number>;
  /** Every snapshot, oldest gateway first. */
  list(): Promise<SessionSnapshot[]>;
}

/** Whether a snapshot's gateway stopped publishing (crashed, killed, or cut off from the database). */
export function isStale(snapshot: SessionSnapshot, now: number): boolean {
  return now - snapshot.publishedAt > 3 * snapshot.intervalMs;
}
