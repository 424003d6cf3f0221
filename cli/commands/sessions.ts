import { formatDuration } from "../../src/config/duration.ts";
import { type SessionSnapshot, isStale } from "../../src/sessions/session-view.ts";
import { type CommandContext, withStore } from "../context.ts";
import { printJson, printTable } from "../output.ts";

/** One session as `sessions list --json` prints it: the session, its gateway, and times as ISO strings and seconds. */
interface ListedSession {
  id: string;
  subject: string;
  client: string | null;
  route: string;
  openedAt: string;
  lastActivity: string;
  ageSec: number;
  idleSec: number;
  dedicated: { backend: string; pid: number | null }[];
  gateway: { instance: string; host: string; pid: number; publishedAt: string; stale: boolean };
}

/**
 * `mcpgw sessions list [--include-stale] [--json]`: every running gateway's sessions, read from
 * the snapshots they publish (src/sessions/session-publisher.ts). A gateway silent for three of
 * its intervals is taken for dead: its sessions are left out unless asked for, and marked.
 */
export async function runSessionsList(context: CommandContext, options: { includeStale?: boolean; json?: boolean }): Promise<void> {
  const snapshots = await withStore(context, (store) => store.sessionSnapshots.list());
  const now = Date.now();
  const stale = snapshots.filter((snapshot) => isStale(snapshot, now));
  const shown = options.includeStale ? snapshots : snapshots.filter((snapshot) => !isStale(snapshot, now));
  const sessions = shown.flatMap((snapshot) => snapshot.sessions.map((session) => listed(snapshot, session, now)));
  sessions.sort((a, b) => a.openedAt.localeCompare(b.openedAt) || a.id.localeCompare(b.id));
  if (options.json) return printJson(sessions);
  const live = snapshots.length - stale.length;
  if (sessions.length === 0) {
    console.log(
      live === 0
        ? "no running gateway has published sessions to this database (is mcpgw serve running with this --db?)"
        : `no open sessions on ${live} running gateway${live === 1 ? "" : "s"}`,
    );
  }
  const several = new Set(shown.map((snapshot) => snapshot.instance)).size > 1;
  printTable(
    ["SESSION", "SUBJECT", "CLIENT", "ROUTE", "AGE", "IDLE", "OWN PROCESSES", ...(several || options.includeStale ? ["GATEWAY"] : [])],
    sessions.map((session) => [
      session.id,
      session.subject,
      session.client ?? "-",
      session.route,
      seconds(session.ageSec),
      seconds(session.idleSec),
      session.dedicated.map((own) => `${own.backend}${own.pid === null ? " (not running)" : `:${own.pid}`}`).join(", ") || "-",
      ...(several || options.includeStale ? [`${session.gateway.instance}${session.gateway.stale ? " (stale)" : ""}`] : []),
    ]),
  );
  if (stale.length > 0 && !options.includeStale) {
    console.error(
      `${stale.length} gateway${stale.length === 1 ? "" : "s"} stopped publishing (crashed, or cut off from the database): their sessions are left out; show them with --include-stale`,
    );
  }
}

/** A whole number of seconds as people write it: 0s, 45s, 1.5m, 2h. */
function seconds(sec: number): string {
  return sec === 0 ? "0s" : formatDuration(sec * 1_000);
}

function listed(snapshot: SessionSnapshot, session: SessionSnapshot["sessions"][number], now: number): ListedSession {
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
    gateway: {
      instance: snapshot.instance,
      host: snapshot.host,
      pid: snapshot.pid,
      publishedAt: new Date(snapshot.publishedAt).toISOString(),
      stale: isStale(snapshot, now),
    },
  };
}
