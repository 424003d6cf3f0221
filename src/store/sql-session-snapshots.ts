import type { SessionSnapshotRepository } from "../sessions/session-snapshot-repository.ts";
import type { SessionSnapshot, SessionView } from "../sessions/session-view.ts";
import type { SqlDriver } from "./sql-driver.ts";

interface SnapshotRow {
  instance: string;
  host: string;
  pid: number;
  started_at: number;
  published_at: number;
  interval_ms: number;
  sessions: string;
}

const COLUMNS = "instance, host, pid, started_at, published_at, interval_ms, sessions";

function fromRow(row: SnapshotRow): SessionSnapshot {
  return {
    instance: row.instance,
    host: row.host,
    pid: Number(row.pid),
    startedAt: Number(row.started_at),
    publishedAt: Number(row.published_at),
    intervalMs: Number(row.interval_ms),
    sessions: JSON.parse(row.sessions) as SessionView[],
  };
}

/** Session snapshots in the session_snapshots table (migration 0007), one row per gateway process. */
export class SqlSessionSnapshotRepository implements SessionSnapshotRepository {
  constructor(private readonly driver: SqlDriver) {}

  async put(snapshot: SessionSnapshot): Promise<void> {
    // One statement, so a reader never sees a half-written row and two writes never collide.
    await this.driver.execute(
      `INSERT INTO session_snapshots (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (instance) DO UPDATE SET host = excluded.host, pid = excluded.pid, started_at = excluded.started_at,
         published_at = excluded.published_at, interval_ms = excluded.interval_ms, sessions = excluded.sessions`,
      [snapshot.instance, snapshot.host, snapshot.pid, snapshot.startedAt, snapshot.publishedAt, snapshot.intervalMs, JSON.stringify(snapshot.sessions)],
    );
  }

  async touch(instance: string, publishedAt: number): Promise<boolean> {
    return (await this.driver.execute("UPDATE session_snapshots SET published_at = $1 WHERE instance = $2", [publishedAt, instance])) > 0;
  }

  async remove(instance: string): Promise<void> {
    await this.driver.execute("DELETE FROM session_snapshots WHERE instance = $1", [instance]);
  }

  removePublishedBefore(before: number): Promise<number> {
    return this.driver.execute("DELETE FROM session_snapshots WHERE published_at < $1", [before]);
  }

  async list(): Promise<SessionSnapshot[]> {
    const rows = await this.driver.query<SnapshotRow>(`SELECT ${COLUMNS} FROM session_snapshots ORDER BY started_at, instance`);
    return rows.map(fromRow);
  }
}
