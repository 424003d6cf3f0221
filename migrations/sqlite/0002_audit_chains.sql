-- Audit log (issue 6): outcome events chained like the records they finish, one chain per
-- gateway process with its head, and the checkpoints prune leaves. Design: docs/audit.md.
-- Keep in step with migrations/postgres/0002_audit_chains.sql.

-- 'call' rows get a second chain event when the call ends (outcome_*); 'refusal' rows are one event.
ALTER TABLE audit_events ADD COLUMN kind TEXT NOT NULL DEFAULT 'call';
-- When the outcome was recorded (the refusal time for refusals); NULL while the call is pending.
ALTER TABLE audit_events ADD COLUMN finished_at BIGINT;
ALTER TABLE audit_events ADD COLUMN outcome_seq BIGINT;
ALTER TABLE audit_events ADD COLUMN outcome_prev_hash TEXT;
ALTER TABLE audit_events ADD COLUMN outcome_hash TEXT;
-- Every index costs each record on the hot path; these two serve verify, follow and prune (by
-- chain position) and the start-up search for unfinished calls.
CREATE UNIQUE INDEX audit_events_outcome ON audit_events (chain_id, outcome_seq);
CREATE INDEX audit_events_pending ON audit_events (chain_id, seq) WHERE status = 'pending';

-- One row per chain (per gateway process start). head_* move in the same transaction as the
-- events, so a deleted tail is detectable and a writer that lost its chain notices (the head
-- is compared and set, never blindly overwritten).
CREATE TABLE audit_chains (
  chain_id      TEXT PRIMARY KEY,
  instance      TEXT NOT NULL,
  host          TEXT NOT NULL,
  pid           INTEGER NOT NULL,
  started_at    BIGINT NOT NULL,
  heartbeat_at  BIGINT NOT NULL,
  ended_at      BIGINT,
  head_seq      BIGINT NOT NULL,
  head_hash     TEXT NOT NULL
);
CREATE INDEX audit_chains_instance ON audit_chains (instance);

-- Where verification of a pruned chain starts: events up to seq were removed, and hash is the
-- hash of the event at seq.
CREATE TABLE audit_checkpoints (
  chain_id      TEXT PRIMARY KEY,
  seq           BIGINT NOT NULL,
  hash          TEXT NOT NULL,
  pruned_before BIGINT NOT NULL,
  pruned_count  BIGINT NOT NULL,
  created_at    BIGINT NOT NULL
);
