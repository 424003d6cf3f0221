import { AuditChainConflictError } from "../audit/audit-errors.ts";
import type { AuditChain, AuditCheckpoint, AuditFilter, AuditOutcomeEvent, AuditRow } from "../audit/audit-record.ts";
import type { AuditAppend, AuditListQuery, AuditRepository } from "../audit/audit-repository.ts";
import type { SqlDriver, SqlExecutor } from "./sql-driver.ts";
import {
  APPEND_LIVE_ONE_STATEMENT,
  APPEND_OUTCOME_ONE,
  APPEND_OUTCOME_UNNEST,
  CHAIN_COLUMNS,
  INSERT_FIELDS,
  INSERT_ONE,
  INSERT_UNNEST,
  MOVE_LIVE_HEAD,
  OUTCOME_COLUMNS,
  SELECT_COLUMNS,
  insertValue,
} from "./sql-audit-statements.ts";

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

/** PostgreSQL's unique_violation on audit_outcomes_call: a second outcome for one call. */
function isOutcomeTaken(err: unknown): boolean {
  const e = err as { code?: unknown; constraint?: unknown };
  return e?.code === "23505" && e.constraint === "audit_outcomes_call";
}

function where(conditions: string[]): string {
  return conditions.length > 0 ? `WHERE ${conditions.join(" AND ")}` : "";
}

/** Calls a write records minus the outcomes it appends: the change to its chain's open_calls. */
function openedMinusFinished(write: AuditAppend): number {
  let opened = 0;
  for (const row of write.records) if (row.kind === "call") opened += 1;
  return opened - write.outcomes.length;
}

/** MOVE_LIVE_HEAD's parameters ($1–$7) for a live append: the SQLite append and PostgreSQL's one statement both bind them. */
function liveHeadParams(write: AuditAppend): unknown[] {
  return [write.head.seq, write.head.hash, write.at, write.end ? write.at : null, write.chainId, write.fromSeq, openedMinusFinished(write)];
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
    if (this.driver.dialect === "postgres" && !write.takeover) {
      if (await this.appendInOneStatement(write)) return;
      // An outcome for a call that already has one: replayed below, which says which calls.
    }
    await this.driver.transaction(async (tx) => {
      // The head first: on PostgreSQL this also locks the chain row, so a takeover and the
      // chain's own writer can never interleave.
      const moved = write.takeover
        ? await tx.execute(
            "UPDATE audit_chains SET head_seq = $1, head_hash = $2, ended_at = COALESCE(ended_at, $3), open_calls = open_calls + $6 WHERE chain_id = $4 AND head_seq = $5",
            [write.head.seq, write.head.hash, write.at, write.chainId, write.fromSeq, openedMinusFinished(write)],
          )
        : await tx.execute(MOVE_LIVE_HEAD, liveHeadParams(write));
      if (moved === 0)
        throw new AuditChainConflictError(`audit chain ${write.chainId} is no longer at seq ${write.fromSeq}: another process appended to it or ended it`);
      if (write.records.length > 0) await this.insert(tx, write.records);
      const notPending = write.outcomes.length > 0 ? await this.appendOutcomes(tx, write.chainId, write.outcomes) : [];
      if (write.takeover && write.outcomes.length > 0) await this.closeLegacyPending(tx, write.chainId, write.outcomes);
      if (notPending.length > 0)
        throw new AuditChainConflictError(`audit chain ${write.chainId}: ${notPending.length} calls are no longer pending`, notPending);
    });
  }

  /**
   * A live append on PostgreSQL in one round trip (APPEND_LIVE_ONE_STATEMENT): false when an
   * outcome met one already stored (nothing was written), for append() to replay as a transaction.
   */
  private async appendInOneStatement(write: AuditAppend): Promise<boolean> {
    let moved: number;
    try {
      const rows = await this.driver.query<{ moved: number | string }>(APPEND_LIVE_ONE_STATEMENT, [
        ...liveHeadParams(write),
        ...INSERT_FIELDS.map(([field]) => write.records.map((row) => insertValue(row, field))),
        write.chainId,
        ...OUTCOME_COLUMNS.map(([, , value]) => write.outcomes.map((o) => value(o))),
      ]);
      moved = Number(rows[0]?.moved ?? 0);
    } catch (err) {
      if (isOutcomeTaken(err)) return false;
      throw err;
    }
    if (moved === 0)
      throw new AuditChainConflictError(`audit chain ${write.chainId} is no longer at seq ${write.fromSeq}: another process appended to it or ended it`);
    return true;
  }

  private async insert(tx: SqlExecutor, rows: AuditRow[]): Promise<void> {
    if (this.driver.dialect === "postgres") {
      await tx.execute(
        INSERT_UNNEST,
        INSERT_FIELDS.map(([field]) => rows.map((row) => insertValue(row, field))),
      );
      return;
    }
    for (const row of rows)
      await tx.execute(
        INSERT_ONE,
        INSERT_FIELDS.map(([field]) => insertValue(row, field)),
      );
  }

  /** Appends outcome events of pending calls; returns the begin seqs of calls that already had one. */
  private async appendOutcomes(tx: SqlExecutor, chainId: string, outcomes: AuditOutcomeEvent[]): Promise<number[]> {
    if (this.driver.dialect === "postgres") {
      const inserted = await tx.query<{ call_seq: number }>(APPEND_OUTCOME_UNNEST, [
        chainId,
        ...OUTCOME_COLUMNS.map(([, , value]) => outcomes.map((o) => value(o))),
      ]);
      if (inserted.length === outcomes.length) return [];
      const done = new Set(inserted.map((row) => Number(row.call_seq)));
      return outcomes.map((o) => o.seq).filter((seq) => !done.has(seq));
    }
    const notPending: number[] = [];
    for (const outcome of outcomes) {
      const changed = await tx.execute(APPEND_OUTCOME_ONE, [chainId, ...OUTCOME_COLUMNS.map(([, , value]) => value(outcome))]);
      if (changed === 0) notPending.push(outcome.seq);
    }
    return notPending;
  }

  /**
   * Records of the previous release that a takeover just finished say 'open' from now on, as this release's do: a
   * gateway of the previous release (a rolling upgrade) looks for 'pending' ones, and would finish them a second time.
   */
  private async closeLegacyPending(tx: SqlExecutor, chainId: string, outcomes: AuditOutcomeEvent[]): Promise<void> {
    const seqs = outcomes.map((o) => o.seq);
    await tx.execute(
      `UPDATE audit_events SET status = 'open' WHERE chain_id = $1 AND status = 'pending' AND seq IN (${seqs.map((_, i) => `$${i + 2}`).join(", ")})`,
      [chainId, ...seqs],
    );
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
      "SELECT chain_id FROM audit_chains UNION SELECT chain_id FROM audit_events UNION SELECT chain_id FROM audit_outcomes UNION SELECT chain_id FROM audit_checkpoints ORDER BY chain_id",
    );
    return rows.map((row) => row.chain_id);
  }

  chainsWithPendingCalls(): Promise<AuditChain[]> {
    return this.driver.query<AuditChain>(
      // open_calls counts this release's open calls; records of the previous one still say 'pending' (audit_events_pending).
      `SELECT ${CHAIN_COLUMNS} FROM audit_chains c
       WHERE c.open_calls > 0 OR EXISTS (
         SELECT 1 FROM audit_events e WHERE e.chain_id = c.chain_id AND e.status = 'pending'
           AND NOT EXISTS (SELECT 1 FROM audit_outcomes o WHERE o.chain_id = e.chain_id AND o.call_seq = e.seq)
       ) ORDER BY started_at`,
    );
  }

  pendingCalls(chainId: string, afterSeq: number, limit: number): Promise<AuditRow[]> {
    return this.driver.query<AuditRow>(
      `SELECT ${SELECT_COLUMNS} FROM audit_records WHERE chain_id = $1 AND status = 'pending' AND seq > $2 ORDER BY seq LIMIT $3`,
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
    return this.driver.query<AuditRow>(`SELECT ${SELECT_COLUMNS} FROM audit_records ${where(conditions)} ORDER BY ${order} LIMIT $${params.length}`, params);
  }

  async count(filter: AuditFilter): Promise<number> {
    const { conditions, params } = filterSql(filter, 0);
    const rows = await this.driver.query<{ n: number }>(`SELECT COUNT(*) AS n FROM audit_records ${where(conditions)}`, params);
    return Number(rows[0]?.n ?? 0);
  }

  async finalizedAfter(chainId: string, afterPos: number, filter: AuditFilter, limit: number): Promise<{ pos: number; row: AuditRow }[]> {
    const { conditions, params } = filterSql(filter, 3);
    const extra = conditions.map((c) => ` AND ${c}`).join("");
    // Index range scans by chain position (outcome events, outcomes of records of the previous
    // release, refusals and events) rather than one OR that would read the whole chain on every poll.
    const rows = await this.driver.query<AuditRow & { pos: number }>(
      `SELECT * FROM (
         SELECT ${SELECT_COLUMNS}, outcome_seq AS pos FROM audit_records
           WHERE chain_id = $1 AND seq IN (SELECT call_seq FROM audit_outcomes WHERE chain_id = $1 AND seq > $2)${extra}
         UNION ALL
         SELECT ${SELECT_COLUMNS}, outcome_seq AS pos FROM audit_records
           WHERE chain_id = $1 AND seq IN (SELECT seq FROM audit_events WHERE chain_id = $1 AND outcome_seq > $2)${extra}
         UNION ALL
         SELECT ${SELECT_COLUMNS}, seq AS pos FROM audit_records WHERE chain_id = $1 AND kind <> 'call' AND seq > $2${extra}
       ) AS finalized ORDER BY pos LIMIT $3`,
      [chainId, afterPos, limit, ...params],
    );
    return rows.map(({ pos, ...row }) => ({ pos: Number(pos), row }));
  }

  beginEvents(chainId: string, afterSeq: number, limit: number): Promise<AuditRow[]> {
    return this.driver.query<AuditRow>(`SELECT ${SELECT_COLUMNS} FROM audit_records WHERE chain_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, [
      chainId,
      afterSeq,
      limit,
    ]);
  }

  outcomeEvents(chainId: string, afterSeq: number, limit: number): Promise<AuditRow[]> {
    // Each page by index: the next `limit` outcome events of either place, then their records.
    return this.driver.query<AuditRow>(
      `SELECT ${SELECT_COLUMNS} FROM audit_records WHERE chain_id = $1 AND seq IN (
         SELECT call_seq FROM (SELECT call_seq, seq FROM audit_outcomes WHERE chain_id = $1 AND seq > $2 ORDER BY seq LIMIT $3) AS appended
         UNION ALL
         SELECT seq FROM (SELECT seq, outcome_seq FROM audit_events WHERE chain_id = $1 AND outcome_seq > $2 ORDER BY outcome_seq LIMIT $3) AS legacy
       ) ORDER BY outcome_seq LIMIT $3`,
      [chainId, afterSeq, limit],
    );
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
      "SELECT MIN(seq) AS p FROM audit_records WHERE chain_id = $1 AND (finished_at IS NULL OR finished_at >= $2)",
      [chainId, before],
    );
    const [last] = await this.driver.query<{ p: number | null }>(
      "SELECT MAX(CASE WHEN outcome_seq > seq THEN outcome_seq ELSE seq END) AS p FROM audit_records WHERE chain_id = $1",
      [chainId],
    );
    let prefix = Math.min(chain?.headSeq ?? Number(last?.p ?? 0), blocking?.p == null ? Number.MAX_SAFE_INTEGER : Number(blocking.p) - 1);
    // A record finished before the cut may still have its outcome event after the prefix (another
    // call began in between and is still open): the prefix stops before that record too.
    for (;;) {
      const [straddling] = await this.driver.query<{ p: number | null }>(
        "SELECT MIN(seq) AS p FROM audit_records WHERE chain_id = $1 AND seq <= $2 AND outcome_seq > $2",
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
      `SELECT hash AS h FROM audit_events WHERE chain_id = $1 AND seq = $2
       UNION ALL SELECT hash AS h FROM audit_outcomes WHERE chain_id = $1 AND seq = $2
       UNION ALL SELECT outcome_hash AS h FROM audit_events WHERE chain_id = $1 AND outcome_seq = $2`,
      [chainId, seq],
    );
    return rows[0]?.h;
  }

  async pruneTo(chainId: string, checkpoint: { seq: number; hash: string }, before: number, now: number): Promise<number> {
    return this.driver.transaction(async (tx) => {
      // What prunablePrefix promised, checked where it counts: nothing in the prefix is open or
      // straddles it. Records are only ever appended after the head, so this cannot change under us.
      const [unsafe] = await tx.query<{ n: number }>(
        "SELECT COUNT(*) AS n FROM audit_records WHERE chain_id = $1 AND seq <= $2 AND (finished_at IS NULL OR finished_at >= $3 OR outcome_seq > $2)",
        [chainId, checkpoint.seq, before],
      );
      if (Number(unsafe?.n ?? 0) > 0) throw new AuditChainConflictError(`audit chain ${chainId} changed while it was being pruned; run prune again`);
      // The prefix's outcome events are all in it (checked above): they go with their records.
      await tx.execute("DELETE FROM audit_outcomes WHERE chain_id = $1 AND seq <= $2", [chainId, checkpoint.seq]);
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
