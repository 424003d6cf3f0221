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

/** Whether a snapshot's gateway stopped publishing (crashed, killed, or cut off from the database). */
export function isStale(snapshot: SessionSnapshot, now: number): boolean {
  return now - snapshot.publishedAt > 3 * snapshot.intervalMs;
}
