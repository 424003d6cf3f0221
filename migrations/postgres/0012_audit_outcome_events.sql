-- Keep in step with migrations/sqlite/0012_audit_outcome_events.sql.
-- Each call's outcome is an event appended to a narrow table of its own, instead of an UPDATE of
-- the call's wide record (issue 17; docs/audit.md, "Issue 17"). A relayed call now writes one
-- wide row (its write-ahead record) and one narrow row (its outcome), and the wide row goes
-- through three indexes instead of six.
--
-- Records written before this migration keep their outcomes in audit_events (nothing is moved,
-- so the migration is instant and a replica of the previous release keeps working during a
-- rolling upgrade); the audit_records view reads both places. Hashes do not change: an outcome
-- was already a chain event of its own, and the view gives back exactly the columns it hashes.
CREATE TABLE audit_outcomes (
  chain_id      TEXT NOT NULL,
  -- the outcome event's own chain position
  seq           BIGINT NOT NULL,
  -- the call's record (its begin event) in the same chain
  call_seq      BIGINT NOT NULL,
  prev_hash     TEXT NOT NULL,
  hash          TEXT NOT NULL,
  status        TEXT NOT NULL,
  error_code    INTEGER,
  error_message TEXT,
  duration_ms   INTEGER,
  bytes_out     INTEGER,
  decision      TEXT,
  rule          TEXT,
  exchange      TEXT,
  -- the id of the per-caller credential the call's backend request carried (never a value)
  credential_id TEXT,
  finished_at   BIGINT NOT NULL,
  PRIMARY KEY (chain_id, seq)
);
-- One outcome per call: a second one (a call another gateway already marked incomplete) is refused.
CREATE UNIQUE INDEX audit_outcomes_call ON audit_outcomes (chain_id, call_seq);

-- Calls whose outcome has not been appended yet, per chain, kept by the head's compare-and-set
-- UPDATE that every append runs anyway: finds the chains to mark after a crash without an index
-- over the records. Chains written before this migration count 0; their pending calls are
-- found by audit_events_pending, which only they (status 'pending') still enter.
ALTER TABLE audit_chains ADD COLUMN open_calls BIGINT NOT NULL DEFAULT 0;

-- A new call's record is stored with status 'open' (its outcome is in audit_outcomes), never
-- 'pending', so the partial index below holds only the records of the previous release.
-- (chain_id, outcome_seq) likewise becomes partial: new records have no outcome_seq.
DROP INDEX audit_events_outcome;
CREATE UNIQUE INDEX audit_events_outcome ON audit_events (chain_id, outcome_seq) WHERE outcome_seq IS NOT NULL;
-- (subject, ts) cost every record an index entry for one filter of tail and export, which walks
-- the ts index instead (newest first, stopping at the requested count).
DROP INDEX audit_events_subject;

-- Records as they read: the record's columns, its outcome from audit_outcomes when there is one,
-- else (records of the previous release, refusals) from the record itself.
CREATE VIEW audit_records AS
SELECT e.id, e.chain_id, e.seq, e.prev_hash, e.hash, e.kind, e.ts, e.request_id, e.session_id, e.subject, e.roles,
  e.client_name, e.client_version, e.backend, e.target, e.method, e.arguments, e.bytes_in,
  CASE WHEN o.seq IS NOT NULL THEN o.status WHEN e.status = 'open' THEN 'pending' ELSE e.status END AS status,
  CASE WHEN o.seq IS NULL THEN e.error_code ELSE o.error_code END AS error_code,
  CASE WHEN o.seq IS NULL THEN e.error_message ELSE o.error_message END AS error_message,
  CASE WHEN o.seq IS NULL THEN e.duration_ms ELSE o.duration_ms END AS duration_ms,
  CASE WHEN o.seq IS NULL THEN e.bytes_out ELSE o.bytes_out END AS bytes_out,
  CASE WHEN o.seq IS NULL THEN e.decision ELSE o.decision END AS decision,
  CASE WHEN o.seq IS NULL THEN e.rule ELSE o.rule END AS rule,
  CASE WHEN o.seq IS NULL THEN e.finished_at ELSE o.finished_at END AS finished_at,
  CASE WHEN o.seq IS NULL THEN e.outcome_seq ELSE o.seq END AS outcome_seq,
  CASE WHEN o.seq IS NULL THEN e.outcome_prev_hash ELSE o.prev_hash END AS outcome_prev_hash,
  CASE WHEN o.seq IS NULL THEN e.outcome_hash ELSE o.hash END AS outcome_hash,
  e.protocol_version,
  CASE WHEN o.seq IS NULL THEN e.exchange ELSE o.exchange END AS exchange,
  e.credential,
  o.credential_id
FROM audit_events e LEFT JOIN audit_outcomes o ON o.chain_id = e.chain_id AND o.call_seq = e.seq;
