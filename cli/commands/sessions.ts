import { formatDuration } from "../../src/config/duration.ts";
import { listSessions } from "../../src/sessions/listed-sessions.ts";
import { type CommandContext, withStore } from "../context.ts";
import { printJson, printTable } from "../output.ts";

/**
 * `mcpgw sessions list [--include-stale] [--json]`: every running gateway's sessions, read from
 * the snapshots they publish (src/sessions/session-publisher.ts). A gateway silent for three of
 * its intervals is taken for dead: its sessions are left out unless asked for, and marked.
 */
export async function runSessionsList(context: CommandContext, options: { includeStale?: boolean; json?: boolean }): Promise<void> {
  const snapshots = await withStore(context, (store) => store.sessionSnapshots.list());
  const { sessions, gateways } = listSessions(snapshots, Date.now(), { includeStale: options.includeStale ?? false });
  const stale = gateways.filter((gateway) => gateway.stale);
  const shown = options.includeStale ? gateways : gateways.filter((gateway) => !gateway.stale);
  if (options.json) return printJson(sessions);
  const live = gateways.length - stale.length;
  if (sessions.length === 0) {
    console.log(
      live === 0
        ? "no running gateway has published sessions to this database (is mcpgw serve running with this --db?)"
        : `no open sessions on ${live} running gateway${live === 1 ? "" : "s"}`,
    );
  }
  const several = new Set(shown.map((gateway) => gateway.instance)).size > 1;
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
