import type { AuditOutcomeEvent, AuditRow } from "../audit/audit-record.ts";

/*
 * The columns and the hot-path statements of the audit repository (sql-audit.ts): a record is a row
 * of audit_events, a call's outcome a row of audit_outcomes (migration 0012), and both are read
 * through the audit_records view, whose columns are those of audit_events.
 */

/** Stored columns in AuditRow order; `id` is the database's. */
const FIELDS = [
  ["chainId", "chain_id"],
  ["seq", "seq"],
  ["prevHash", "prev_hash"],
  ["hash", "hash"],
  ["kind", "kind"],
  ["ts", "ts"],
  ["requestId", "request_id"],
  ["sessionId", "session_id"],
  ["subject", "subject"],
  ["roles", "roles"],
  ["clientName", "client_name"],
  ["clientVersion", "client_version"],
  ["backend", "backend"],
  ["target", "target"],
  ["method", "method"],
  ["arguments", "arguments"],
  ["bytesIn", "bytes_in"],
  ["status", "status"],
  ["errorCode", "error_code"],
  ["errorMessage", "error_message"],
  ["durationMs", "duration_ms"],
  ["bytesOut", "bytes_out"],
  ["decision", "decision"],
  ["rule", "rule"],
  ["finishedAt", "finished_at"],
  ["outcomeSeq", "outcome_seq"],
  ["outcomePrevHash", "outcome_prev_hash"],
  ["outcomeHash", "outcome_hash"],
  ["protocolVersion", "protocol_version"],
  ["exchange", "exchange"],
  ["credential", "credential"],
  ["credentialId", "credential_id"],
] as const satisfies readonly (readonly [Exclude<keyof AuditRow, "id">, string])[];

/** The outcome event's place in the chain, and what only an outcome event holds: read through audit_records, never inserted into audit_events (migration 0012). */
const OUTCOME_EVENT_FIELDS: readonly string[] = ["outcomeSeq", "outcomePrevHash", "outcomeHash", "credentialId"];
export const INSERT_FIELDS = FIELDS.filter(([field]) => !OUTCOME_EVENT_FIELDS.includes(field));
const INSERT_COLUMNS = INSERT_FIELDS.map(([, column]) => column).join(", ");
export const SELECT_COLUMNS = `id, ${FIELDS.map(([field, column]) => (field === column ? column : `${column} AS "${field}"`)).join(", ")}`;
export const CHAIN_COLUMNS = `chain_id AS "chainId", instance, host, pid, started_at AS "startedAt", heartbeat_at AS "heartbeatAt", ended_at AS "endedAt", head_seq AS "headSeq", head_hash AS "headHash"`;

/** PostgreSQL array types of the FIELDS columns, in order, for unnest(). */
const FIELD_ARRAY_TYPES: Record<(typeof FIELDS)[number][1], string> = {
  chain_id: "text",
  seq: "bigint",
  prev_hash: "text",
  hash: "text",
  kind: "text",
  ts: "bigint",
  request_id: "text",
  session_id: "text",
  subject: "text",
  roles: "text",
  client_name: "text",
  client_version: "text",
  backend: "text",
  target: "text",
  method: "text",
  arguments: "text",
  bytes_in: "integer",
  status: "text",
  error_code: "integer",
  error_message: "text",
  duration_ms: "integer",
  bytes_out: "integer",
  decision: "text",
  rule: "text",
  finished_at: "bigint",
  outcome_seq: "bigint",
  outcome_prev_hash: "text",
  outcome_hash: "text",
  protocol_version: "text",
  exchange: "text",
  credential: "text",
  credential_id: "text",
};

/** The columns of an audit_outcomes row after chain_id, with the value each takes from an AuditOutcomeEvent. */
export const OUTCOME_COLUMNS = [
  ["seq", "bigint", (o) => o.outcomeSeq],
  ["call_seq", "bigint", (o) => o.seq],
  ["prev_hash", "text", (o) => o.outcomePrevHash],
  ["hash", "text", (o) => o.outcomeHash],
  ["status", "text", (o) => o.status],
  ["error_code", "integer", (o) => o.errorCode],
  ["error_message", "text", (o) => o.errorMessage],
  ["duration_ms", "integer", (o) => o.durationMs],
  ["bytes_out", "integer", (o) => o.bytesOut],
  ["decision", "text", (o) => o.decision],
  ["rule", "text", (o) => o.rule],
  ["exchange", "text", (o) => o.exchange],
  ["credential_id", "text", (o) => o.credentialId],
  ["finished_at", "bigint", (o) => o.finishedAt],
] as const satisfies readonly (readonly [string, string, (o: AuditOutcomeEvent) => unknown])[];

/*
 * The two bulk statements of the audit hot path are the only SQL here written per dialect (one
 * text for both everywhere else). PostgreSQL gets a batch as one array per column (unnest): one
 * parameter per column per batch instead of one per column per row, since parsing and binding
 * thousands of parameters was most of a commit's time. SQLite, in-process, runs one cached
 * prepared statement per row, which is cheaper than compiling a large multi-row statement.
 */
export const INSERT_ONE = `INSERT INTO audit_events (${INSERT_COLUMNS}) VALUES (${INSERT_FIELDS.map((_, i) => `$${i + 1}`).join(", ")})`;
export const INSERT_UNNEST = `INSERT INTO audit_events (${INSERT_COLUMNS}) SELECT * FROM unnest(${INSERT_FIELDS.map(([, column], i) => `$${i + 1}::${FIELD_ARRAY_TYPES[column]}[]`).join(", ")})`;
/*
 * Outcomes are appended, never written over their record (migration 0012). One outcome per call:
 * the unique (chain_id, call_seq) index turns a second one (the call was marked incomplete by
 * another gateway) into "nothing inserted", which append() reports as not pending.
 */
const OUTCOME_COLUMN_NAMES = OUTCOME_COLUMNS.map(([column]) => column).join(", ");
export const APPEND_OUTCOME_ONE = `INSERT INTO audit_outcomes (chain_id, ${OUTCOME_COLUMN_NAMES}) VALUES ($1, ${OUTCOME_COLUMNS.map((_, i) => `$${i + 2}`).join(", ")})
  ON CONFLICT (chain_id, call_seq) DO NOTHING`;
export const APPEND_OUTCOME_UNNEST = `INSERT INTO audit_outcomes (chain_id, ${OUTCOME_COLUMN_NAMES})
  SELECT $1, * FROM unnest(${OUTCOME_COLUMNS.map(([, type], i) => `$${i + 2}::${type}[]`).join(", ")})
  ON CONFLICT (chain_id, call_seq) DO NOTHING RETURNING call_seq`;
/**
 * The compare-and-set of a live chain's head that every append runs first (its own writer, not a takeover):
 * $1 head seq, $2 head hash, $3 heartbeat, $4 ended at (or null), $5 chain, $6 the seq it expects, $7 calls
 * opened minus calls finished. It moves nothing when the chain moved or ended meanwhile.
 */
export const MOVE_LIVE_HEAD =
  "UPDATE audit_chains SET head_seq = $1, head_hash = $2, heartbeat_at = $3, ended_at = $4, open_calls = open_calls + $7 WHERE chain_id = $5 AND head_seq = $6 AND ended_at IS NULL";
/*
 * A live append on PostgreSQL as ONE statement (its own implicit transaction, so one round trip
 * and one commit instead of BEGIN, three statements and COMMIT): the head's compare-and-set, then
 * the records and the outcome events, inserted only when the head moved. All three run in one
 * transaction, so they commit together or not at all. An outcome for a call that already has one
 * (another gateway marked it incomplete) violates audit_outcomes_call here, without DO NOTHING:
 * the whole statement fails, nothing is written, and append() replays the write as a transaction
 * that finds which calls were no longer pending. $1–$7 are the head's; then one array per column of
 * the records, then the outcome events' chain and one array per column.
 */
const HEAD_PARAMS = 7;
const OUTCOME_PARAMS_FROM = HEAD_PARAMS + INSERT_FIELDS.length + 1;
export const APPEND_LIVE_ONE_STATEMENT = `WITH head AS (
    ${MOVE_LIVE_HEAD} RETURNING 1
  ), records AS (
    INSERT INTO audit_events (${INSERT_COLUMNS})
    SELECT * FROM unnest(${INSERT_FIELDS.map(([, column], i) => `$${HEAD_PARAMS + 1 + i}::${FIELD_ARRAY_TYPES[column]}[]`).join(", ")})
    WHERE EXISTS (SELECT 1 FROM head)
  ), outcomes AS (
    INSERT INTO audit_outcomes (chain_id, ${OUTCOME_COLUMN_NAMES})
    SELECT $${OUTCOME_PARAMS_FROM}, * FROM unnest(${OUTCOME_COLUMNS.map(([, type], i) => `$${OUTCOME_PARAMS_FROM + 1 + i}::${type}[]`).join(", ")})
    WHERE EXISTS (SELECT 1 FROM head)
  )
  SELECT COUNT(*) AS moved FROM head`;
/** A call's record as stored: "open" (its outcome will be an event in audit_outcomes); audit_records reads it back as "pending". */
const STORED_STATUS = (row: AuditRow) => (row.kind === "call" && row.status === "pending" ? "open" : row.status);
export const insertValue = (row: AuditRow, field: (typeof INSERT_FIELDS)[number][0]) => (field === "status" ? STORED_STATUS(row) : row[field]);
