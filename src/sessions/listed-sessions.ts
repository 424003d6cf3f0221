import { type SessionSnapshot, isStale } from "./session-view.ts";

/**
 * Sessions as operators read them: `mcpgw sessions list --json` prints exactly these, and
 * `GET /v1/admin/sessions` answers them, from the snapshots every running gateway publishes
 * (session-publisher.ts). Times are ISO strings, ages whole seconds.
 */

/** A gateway that published a snapshot, and whether it stopped publishing (3 intervals silent: crashed, or cut off from the database). */
export interface ListedGateway {
  instance: string;
  host: string;
  pid: number;
  publishedAt: string;
  stale: boolean;
}

/** One session: the session, its gateway, and times as ISO strings and seconds. */
export interface ListedSession {
  id: string;
  subject: string;
  client: string | null;
  route: string;
  openedAt: string;
  lastActivity: string;
  ageSec: number;
  idleSec: number;
  dedicated: { backend: string; pid: number | null }[];
  gateway: ListedGateway;
}

/** What the snapshots say: the sessions (oldest first), and every gateway that published, stale ones marked. */
export interface SessionListing {
  sessions: ListedSession[];
  gateways: ListedGateway[];
}

/**
 * Every published session at `now`, oldest first. Sessions of stale gateways (taken for dead)
 * are left out unless `includeStale`; the gateways are all listed, so a reader can say how many
 * stopped publishing.
 */
export function listSessions(snapshots: readonly SessionSnapshot[], now: number, options: { includeStale?: boolean } = {}): SessionListing {
  const gateways = snapshots.map((snapshot) => listedGateway(snapshot, now));
  const sessions = snapshots.flatMap((snapshot, i) =>
    options.includeStale || !gateways[i]!.stale ? snapshot.sessions.map((session) => listedSession(gateways[i]!, session, now)) : [],
  );
  sessions.sort((a, b) => a.openedAt.localeCompare(b.openedAt) || a.id.localeCompare(b.id));
  return { sessions, gateways };
}

function listedGateway(snapshot: SessionSnapshot, now: number): ListedGateway {
  return {
    instance: snapshot.instance,
    host: snapshot.host,
    pid: snapshot.pid,
    publishedAt: new Date(snapshot.publishedAt).toISOString(),
    stale: isStale(snapshot, now),
  };
}

function listedSession(gateway: ListedGateway, session: SessionSnapshot["sessions"][number], now: number): ListedSession {
  return {
    id: session.id,
    subject: session.subject,
    client: session.client ?? null,
    route: session.route,
    openedAt: new Date(session.openedAt).toISOString(),
    lastActivity: new Date(session.lastActivity).toISOString(),
    ageSec: Math.max(0, Math.round((now - session.openedAt) / 1_000)),
    idleSec: Math.max(0, Math.round((now - session.lastActivity) / 1_000)),
    dedicated: session.dedicated.map((own) => ({ backend: own.backend, pid: own.pid ?? null })),
    gateway: { ...gateway },
  };
}
