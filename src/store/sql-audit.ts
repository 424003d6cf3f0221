import { AuditChainConflictError } from "../audit/audit-errors.ts";
import type { AuditChain, AuditCheckpoint, AuditFilter, AuditOutcomeEvent, AuditRow } from "../audit/audit-record.ts";
import type { AuditAppend, AuditListQuery, AuditRepository } from "../audit/audit-repository.ts";
import type { SqlDriver, SqlExecutor } from "./sql-driver.ts";

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
] as const satisfies readonly (readonly [Exclude<keyof AuditRow, "id">, string])[];

const INSERT_COLUMNS = FIELDS.map(([, column]) => column).join(", ");
const SELECT_COLUMNS = `id, ${FIELDS.map(([field, column]) => (field === column ? column : `${column} AS "${field}"`)).join(", ")}`;
const CHAIN_COLUMNS = `chain_id AS "chainId", instance, host, pid, started_at AS "startedAt", heartbeat_at AS "heartbeatAt", ended_at AS "endedAt", head_seq AS "headSeq", head_hash AS "headHash"`;

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
};

/** The columns an outcome event sets, with the value each takes from an AuditOutcomeEvent. */
const OUTCOME_COLUMNS = [
  ["status", "text", (o) => o.status],
  ["error_code", "integer", (o) => o.errorCode],
  ["error_message", "text", (o) => o.errorMessage],
  ["duration_ms", "integer", (o) => o.durationMs],
  ["bytes_out", "integer", (o) => o.bytesOut],
  ["decision", "text", (o) => o.decision],
  ["rule", "text", (o) => o.rule],
  ["finished_at", "bigint", (o) => o.finishedAt],
  ["outcome_seq", "bigint", (o) => o.outcomeSeq],
  ["outcome_prev_hash", "text", (o) => o.outcomePrevHash],
  ["outcome_hash", "text", (o) => o.outcomeHash],
  ["exchange", "text", (o) => o.exchange],
] as const satisfies readonly (readonly [string, string, (o: AuditOutcomeEvent) => unknown])[];

/*
 * The two bulk statements of the audit hot path are the only SQL here written per dialect (one
 * text for both everywhere else). PostgreSQL gets a batch as one array per column (unnest): one
 * parameter per column per batch instead of one per column per row, since parsing and binding
 * thousands of parameters was most of a commit's time. SQLite, in-process, runs one cached
 * prepared statement per row, which is cheaper than compiling a large multi-row statement.
 */
const INSERT_ONE = `INSERT INTO audit_events (${INSERT_COLUMNS}) VALUES (${FIELDS.map((_, i) => `$${i + 1}`).join(", ")})`;
const INSERT_UNNEST = `INSERT INTO audit_events (${INSERT_COLUMNS}) SELECT * FROM unnest(${FIELDS.map(([, column], i) => `$${i + 1}::${FIELD_ARRAY_TYPES[column]}[]`).join(", ")})`;
const FINISH_ONE = `UPDATE audit_events SET ${OUTCOME_COLUMNS.map(([column], i) => `${column} = $${i + 1}`).join(", ")}
  WHERE chain_id = $${OUTCOME_COLUMNS.length + 1} AND seq = $${OUTCOME_COLUMNS.length + 2} AND status = 'pending'`;
const FINISH_UNNEST = `UPDATE audit_events AS e SET ${OUTCOME_COLUMNS.map(([column]) => `${column} = v.${column}`).join(", ")}
  FROM unnest($2::bigint[], ${OUTCOME_COLUMNS.map(([, type], i) => `$${i + 3}::${type}[]`).join(", ")}) AS v(seq, ${OUTCOME_COLUMNS.map(([column]) => column).join(", ")})
  WHERE e.chain_id = $1 AND e.seq = ANY($2::bigint[]) AND e.seq = v.seq AND e.status = 'pending'
  RETURNING e.seq AS seq`;
// "seq = ANY($2)" is there for the planner: it fetches the batch's rows by the (chain_id, seq)
// index instead of hash-joining the whole chain, which grew each commit with the chain's length.

/** A BACKEND/TOOL glob as a LIKE pattern over lower(backend || '/' || target); a bare name means any backend. */
export function toolPatternToLike(pattern: string): string {
  const full = pattern.includes("/") ? pattern : `*/${pattern}`;
  return full
    .toLowerCase()
    .replace(/[\\%_]/g, (c) => `\\${c}`)
    .replace(/\*/g, "%")
    .replace(/\?/g, "_");
}

/** WHERE conditions of a filter, numbered after `offset` parameters. */
function filterSql(filter: AuditFilter, offset: number): { conditions: string[]; params: unknown[] } {
  const conditions: string[] = [];
  const params: unknown[] = [];
  const add = (sql: (n: number) => string, value: unknown) => {
    params.push(value);
    conditions.push(sql(offset + params.length));
  };
  if (filter.subject !== undefined) add((n) => `subject = $${n}`, filter.subject);
  if (filter.status !== undefined) add((n) => `status = $${n}`, filter.status);
  if (filter.since !== undefined) add((n) => `ts >= $${n}`, filter.since);
  if (filter.until !== undefined) add((n) => `ts < $${n}`, filter.until);
  if (filter.backend !== undefined) add((n) => `backend = $${n}`, filter.backend);
  // LOWER on both sides: LIKE is case-insensitive on SQLite and case-sensitive on PostgreSQL.
  if (filter.tool !== undefined)
    add((n) => `LOWER(COALESCE(backend, '') || '/' || COALESCE(target, '')) LIKE $${n} ESCAPE '\\'`, toolPatternToLike(filter.tool));
  return { conditions, params };
}

function where(conditions: string[]): string {
  return conditions.length > 0 ? `WHERE ${conditions.join(" AND ")}` : "";
}

export class SqlAuditRepository implements AuditRepository {
  constructor(private readonly driver: SqlDriver) {}

  async createChain(chain: AuditChain): Promise<void> {
    await this.driver.execute(
      "INSERT INTO audit_chains (chain_id, instance, host, pid, started_at, heartbeat_at, ended_at, head_seq, head_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
      [chain.chainId, chain.instance, chain.host, chain.pid, chain.startedAt, chain.heartbeatAt, chain.endedAt, chain.headSeq, chain.headHash],
    );
  }

  async append(write: AuditAppend): Promise<void> {
    await this.driver.transaction(async (tx) => {
      // The head first: on PostgreSQL this also locks the chain row, so a takeover and the
      // chain's own writer can never interleave.
      const moved = write.takeover
        ? await tx.execute("UPDATE audit_chains SET head_seq = $1, head_hash = $2, ended_at = COALESCE(ended_at, $3) WHERE chain_id = $4 AND head_seq = $5", [
            write.head.seq,
            write.head.hash,
            write.at,
            write.chainId,
            write.fromSeq,
          ])
        : await tx.execute(
            "UPDATE audit_chains SET head_seq = $1, head_hash = $2, heartbeat_at = $3, ended_at = $4 WHERE chain_id = $5 AND head_seq = $6 AND ended_at IS NULL",
            [write.head.seq, write.head.hash, write.at, write.end ? write.at : null, write.chainId, write.fromSeq],
          );
      if (moved === 0)
        throw new AuditChainConflictError(`audit chain ${write.chainId} is no longer at seq ${write.fromSeq}: another process appended to it or ended it`);
      if (write.records.length > 0) await this.insert(tx, write.records);
      const notPending = write.outcomes.length > 0 ? await this.finish(tx, write.chainId, write.outcomes) : [];
      if (notPending.length > 0)
        throw new AuditChainConflictError(`audit chain ${write.chainId}: ${notPending.length} calls are no longer pending`, notPending);
    });
  }

  private async insert(tx: SqlExecutor, rows: AuditRow[]): Promise<void> {
    if (this.driver.dialect === "postgres") {
      await tx.execute(
        INSERT_UNNEST,
        FIELDS.map(([field]) => rows.map((row) => row[field])),
      );
      return;
    }
    for (const row of rows)
      await tx.execute(
        INSERT_ONE,
        FIELDS.map(([field]) => row[field]),
      );
  }

  /** Writes outcome events onto their pending calls; returns the begin seqs that were not pending. */
  private async finish(tx: SqlExecutor, chainId: string, outcomes: AuditOutcomeEvent[]): Promise<number[]> {
    if (this.driver.dialect === "postgres") {
      const updated = await tx.query<{ seq: number }>(FINISH_UNNEST, [
        chainId,
        outcomes.map((o) => o.seq),
        ...OUTCOME_COLUMNS.map(([, , value]) => outcomes.map((o) => value(o))),
      ]);
      if (updated.length === outcomes.length) return [];
      const done = new Set(updated.map((row) => Number(row.seq)));
      return outcomes.map((o) => o.seq).filter((seq) => !done.has(seq));
    }
    const notPending: number[] = [];
    for (const outcome of outcomes) {
      const changed = await tx.execute(FINISH_ONE, [...OUTCOME_COLUMNS.map(([, , value]) => value(outcome)), chainId, outcome.seq]);
      if (changed === 0) notPending.push(outcome.seq);
    }
    return notPending;
  }

  async chain(chainId: string): Promise<AuditChain | undefined> {
    const rows = await this.driver.query<AuditChain>(`SELECT ${CHAIN_COLUMNS} FROM audit_chains WHERE chain_id = $1`, [chainId]);
    return rows[0];
  }

  chains(): Promise<AuditChain[]> {
    return this.driver.query<AuditChain>(`SELECT ${CHAIN_COLUMNS} FROM audit_chains ORDER BY started_at, chain_id`);
  }

  async chainIds(): Promise<string[]> {
    const rows = await this.driver.query<{ chain_id: string }>(
      "SELECT chain_id FROM audit_chains UNION SELECT chain_id FROM audit_events UNION SELECT chain_id FROM audit_checkpoints ORDER BY chain_id",
    );
    return rows.map((row) => row.chain_id);
  }

  chainsWithPendingCalls(): Promise<AuditChain[]> {
    return this.driver.query<AuditChain>(
      `SELECT ${CHAIN_COLUMNS} FROM audit_chains c WHERE EXISTS (SELECT 1 FROM audit_events e WHERE e.chain_id = c.chain_id AND e.status = 'pending') ORDER BY started_at`,
    );
  }

  pendingCalls(chainId: string, afterSeq: number, limit: number): Promise<AuditRow[]> {
    return this.driver.query<AuditRow>(
      `SELECT ${SELECT_COLUMNS} FROM audit_events WHERE chain_id = $1 AND status = 'pending' AND seq > $2 ORDER BY seq LIMIT $3`,
      [chainId, afterSeq, limit],
    );
  }

  list(query: AuditListQuery): Promise<AuditRow[]> {
    const { conditions, params } = filterSql(query.filter, 0);
    if (query.after) {
      params.push(query.after.ts, query.after.id);
      conditions.push(`(ts, id) ${query.newestFirst ? "<" : ">"} ($${params.length - 1}, $${params.length})`);
    }
    params.push(query.limit);
    const order = query.newestFirst ? "ts DESC, id DESC" : "ts, id";
    return this.driver.query<AuditRow>(`SELECT ${SELECT_COLUMNS} FROM audit_events ${where(conditions)} ORDER BY ${order} LIMIT $${params.length}`, params);
  }

  async count(filter: AuditFilter): Promise<number> {
    const { conditions, params } = filterSql(filter, 0);
    const rows = await this.driver.query<{ n: number }>(`SELECT COUNT(*) AS n FROM audit_events ${where(conditions)}`, params);
    return Number(rows[0]?.n ?? 0);
  }

  async finalizedAfter(chainId: string, afterPos: number, filter: AuditFilter, limit: number): Promise<{ pos: number; row: AuditRow }[]> {
    const { conditions, params } = filterSql(filter, 3);
    const extra = conditions.map((c) => ` AND ${c}`).join("");
    // Two index range scans (chain_id, outcome_seq) and (chain_id, seq) rather than one OR that
    // would read the whole chain on every poll.
    const rows = await this.driver.query<AuditRow & { pos: number }>(
      `SELECT * FROM (
         SELECT ${SELECT_COLUMNS}, outcome_seq AS pos FROM audit_events WHERE chain_id = $1 AND outcome_seq > $2${extra}
         UNION ALL
         SELECT ${SELECT_COLUMNS}, seq AS pos FROM audit_events WHERE chain_id = $1 AND kind = 'refusal' AND seq > $2${extra}
       ) AS finalized ORDER BY pos LIMIT $3`,
      [chainId, afterPos, limit, ...params],
    );
    return rows.map(({ pos, ...row }) => ({ pos: Number(pos), row }));
  }

  beginEvents(chainId: string, afterSeq: number, limit: number): Promise<AuditRow[]> {
    return this.driver.query<AuditRow>(`SELECT ${SELECT_COLUMNS} FROM audit_events WHERE chain_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, [
      chainId,
      afterSeq,
      limit,
    ]);
  }

  outcomeEvents(chainId: string, afterSeq: number, limit: number): Promise<AuditRow[]> {
    return this.driver.query<AuditRow>(`SELECT ${SELECT_COLUMNS} FROM audit_events WHERE chain_id = $1 AND outcome_seq > $2 ORDER BY outcome_seq LIMIT $3`, [
      chainId,
      afterSeq,
      limit,
    ]);
  }

  async checkpoint(chainId: string): Promise<AuditCheckpoint | undefined> {
    const rows = await this.driver.query<AuditCheckpoint>(
      `SELECT chain_id AS "chainId", seq, hash, pruned_before AS "prunedBefore", pruned_count AS "prunedCount", created_at AS "createdAt" FROM audit_checkpoints WHERE chain_id = $1`,
      [chainId],
    );
    return rows[0];
  }

  async prunablePrefix(chainId: string, before: number): Promise<number> {
    const chain = await this.chain(chainId);
    const [blocking] = await this.driver.query<{ p: number | null }>(
      "SELECT MIN(seq) AS p FROM audit_events WHERE chain_id = $1 AND (finished_at IS NULL OR finished_at >= $2)",
      [chainId, before],
    );
    const [last] = await this.driver.query<{ p: number | null }>(
      "SELECT MAX(CASE WHEN outcome_seq > seq THEN outcome_seq ELSE seq END) AS p FROM audit_events WHERE chain_id = $1",
      [chainId],
    );
    let prefix = Math.min(chain?.headSeq ?? Number(last?.p ?? 0), blocking?.p == null ? Number.MAX_SAFE_INTEGER : Number(blocking.p) - 1);
    // A record finished before the cut may still have its outcome event after the prefix (another
    // call began in between and is still open): the prefix stops before that record too.
    for (;;) {
      const [straddling] = await this.driver.query<{ p: number | null }>(
        "SELECT MIN(seq) AS p FROM audit_events WHERE chain_id = $1 AND seq <= $2 AND outcome_seq > $2",
        [chainId, prefix],
      );
      if (straddling?.p == null) return Math.max(0, prefix);
      prefix = Number(straddling.p) - 1;
    }
  }

  async countUpTo(chainId: string, seq: number): Promise<number> {
    const rows = await this.driver.query<{ n: number }>("SELECT COUNT(*) AS n FROM audit_events WHERE chain_id = $1 AND seq <= $2", [chainId, seq]);
    return Number(rows[0]?.n ?? 0);
  }

  async eventHash(chainId: string, seq: number): Promise<string | undefined> {
    const rows = await this.driver.query<{ h: string }>(
      "SELECT hash AS h FROM audit_events WHERE chain_id = $1 AND seq = $2 UNION ALL SELECT outcome_hash AS h FROM audit_events WHERE chain_id = $1 AND outcome_seq = $2",
      [chainId, seq],
    );
    return rows[0]?.h;
  }

  async pruneTo(chainId: string, checkpoint: { seq: number; hash: string }, before: number, now: number): Promise<number> {
    return this.driver.transaction(async (tx) => {
      // What prunablePrefix promised, checked where it counts: nothing in the prefix is open or
      // straddles it. Records are only ever appended after the head, so this cannot change under us.
      const [unsafe] = await tx.query<{ n: number }>(
        "SELECT COUNT(*) AS n FROM audit_events WHERE chain_id = $1 AND seq <= $2 AND (finished_at IS NULL OR finished_at >= $3 OR outcome_seq > $2)",
        [chainId, checkpoint.seq, before],
      );
      if (Number(unsafe?.n ?? 0) > 0) throw new AuditChainConflictError(`audit chain ${chainId} changed while it was being pruned; run prune again`);
      const removed = await tx.execute("DELETE FROM audit_events WHERE chain_id = $1 AND seq <= $2", [chainId, checkpoint.seq]);
      await tx.execute(
        `INSERT INTO audit_checkpoints (chain_id, seq, hash, pruned_before, pruned_count, created_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (chain_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, pruned_before = excluded.pruned_before,
           pruned_count = audit_checkpoints.pruned_count + excluded.pruned_count, created_at = excluded.created_at`,
        [chainId, checkpoint.seq, checkpoint.hash, before, removed, now],
      );
      return removed;
    });
  }
}
