-- Sessions of running gateways, for `mcpgw sessions list` (issue 15, item 9): each gateway process
-- keeps one row, rewritten when its sessions change and confirmed (published_at) otherwise, and
-- deletes it when it stops cleanly. A row whose published_at is older than 3 × interval_ms is a
-- gateway that died; later starts remove such rows. Keep in step with migrations/sqlite/0007_session_snapshots.sql.
CREATE TABLE session_snapshots (
  instance      TEXT PRIMARY KEY,
  host          TEXT NOT NULL,
  pid           INTEGER NOT NULL,
  started_at    BIGINT NOT NULL,
  published_at  BIGINT NOT NULL,
  interval_ms   BIGINT NOT NULL,
  -- JSON array of the sessions (src/sessions/session-view.ts, SessionView).
  sessions      TEXT NOT NULL
);
