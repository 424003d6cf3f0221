import type { CancelEffect, ClaimDurability, JobFilter, JobOutcome, JobProgress, JobRecord, JobStatus, NewJob } from "../jobs/job-record.ts";
import type { JobRepository } from "../jobs/job-repository.ts";
import type { SqlDriver, SqlExecutor } from "./sql-driver.ts";

interface JobRow {
  id: string;
  owner: string;
  roles: string;
  origin: string;
  backend: string;
  tool: string;
  arguments: string;
  status: string;
  progress: string | null;
  result: string | null;
  error: string | null;
  attempts: number;
  idempotent: boolean | number;
  cancel_requested: boolean | number;
  backend_task_id: string | null;
  lease_owner: string | null;
  lease_expires_at: number | string | null;
  ttl_ms: number | string;
  created_at: number | string;
  updated_at: number | string;
  started_at: number | string | null;
  finished_at: number | string | null;
  expires_at: number | string | null;
  traceparent: string | null;
  tracestate: string | null;
}

const COLUMNS =
  "id, owner, roles, origin, backend, tool, arguments, status, progress, result, error, attempts, idempotent, cancel_requested, backend_task_id, lease_owner, lease_expires_at, ttl_ms, created_at, updated_at, started_at, finished_at, expires_at, traceparent, tracestate";

const optionalNumber = (value: number | string | null) => (value === null ? undefined : Number(value));

function fromRow(row: JobRow): JobRecord {
  const job: JobRecord = {
    id: row.id,
    owner: row.owner,
    roles: JSON.parse(row.roles) as string[],
    origin: row.origin === "mcp" ? "mcp" : "rest",
    backend: row.backend,
    tool: row.tool,
    arguments: JSON.parse(row.arguments) as Record<string, unknown>,
    status: row.status as JobStatus,
    attempts: Number(row.attempts),
    idempotent: Boolean(row.idempotent),
    cancelRequested: Boolean(row.cancel_requested),
    ttlMs: Number(row.ttl_ms),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
  if (row.progress !== null) job.progress = JSON.parse(row.progress) as JobProgress;
  if (row.result !== null) job.result = JSON.parse(row.result) as Record<string, unknown>;
  if (row.error !== null) job.error = JSON.parse(row.error) as JobRecord["error"] & object;
  if (row.backend_task_id !== null) job.backendTaskId = row.backend_task_id;
  if (row.lease_owner !== null) job.leaseOwner = row.lease_owner;
  if (row.traceparent !== null) job.traceparent = row.traceparent;
  if (row.tracestate !== null) job.tracestate = row.tracestate;
  const optional = { leaseExpiresAt: row.lease_expires_at, startedAt: row.started_at, finishedAt: row.finished_at, expiresAt: row.expires_at };
  for (const [key, value] of Object.entries(optional)) {
    const n = optionalNumber(value);
    if (n !== undefined) job[key as keyof typeof optional] = n;
  }
  return job;
}

/** Why a job whose gateway died is not run again, for its error. */
function interruptedError(job: JobRecord, maxAttempts: number): string {
  const why = job.idempotent
    ? `it was interrupted ${job.attempts} times (at most ${maxAttempts} attempts)`
    : `tool "${job.tool}" is not marked idempotent, so it was not retried (mark it with the tool annotation idempotentHint or the backend's idempotent tools)`;
  return `interrupted: the gateway running this job stopped before the call finished; ${why}`;
}

export class SqlJobRepository implements JobRepository {
  /** PostgreSQL's row locks let replicas claim concurrently; SQLite serialises writers anyway. */
  private readonly skipLocked: string;

  constructor(private readonly driver: SqlDriver) {
    this.skipLocked = driver.dialect === "postgres" ? " FOR UPDATE SKIP LOCKED" : "";
  }

  async create(job: NewJob): Promise<JobRecord> {
    const rows = await this.driver.query<JobRow>(
      `INSERT INTO jobs (id, owner, roles, origin, backend, tool, arguments, status, idempotent, ttl_ms, created_at, updated_at, traceparent, tracestate)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'queued', $8, $9, $10, $10, $11, $12) RETURNING ${COLUMNS}`,
      [
        job.id,
        job.owner,
        JSON.stringify(job.roles),
        job.origin,
        job.backend,
        job.tool,
        JSON.stringify(job.arguments),
        job.idempotent,
        job.ttlMs,
        job.createdAt,
        job.traceparent ?? null,
        job.tracestate ?? null,
      ],
    );
    return fromRow(rows[0]!);
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const rows = await this.driver.query<JobRow>(`SELECT ${COLUMNS} FROM jobs WHERE id = $1`, [id]);
    return rows[0] && fromRow(rows[0]);
  }

  async list(filter: JobFilter): Promise<JobRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (clause: (n: number) => string, ...values: unknown[]) => {
      where.push(clause(params.length + 1));
      params.push(...values);
    };
    if (filter.owner !== undefined) add((n) => `owner = $${n}`, filter.owner);
    if (filter.status !== undefined) add((n) => `status = $${n}`, filter.status);
    if (filter.backend !== undefined) add((n) => `backend = $${n}`, filter.backend);
    if (filter.before) add((n) => `(created_at < $${n} OR (created_at = $${n} AND id < $${n + 1}))`, filter.before.createdAt, filter.before.id);
    params.push(filter.limit);
    const rows = await this.driver.query<JobRow>(
      `SELECT ${COLUMNS} FROM jobs ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY created_at DESC, id DESC LIMIT $${params.length}`,
      params,
    );
    return rows.map(fromRow);
  }

  async countByStatus(): Promise<Partial<Record<JobStatus, number>>> {
    const rows = await this.driver.query<{ status: JobStatus; n: number | string }>("SELECT status, COUNT(*) AS n FROM jobs GROUP BY status");
    return Object.fromEntries(rows.map((row) => [row.status, Number(row.n)]));
  }

  async claim(worker: string, max: number, now: number, leaseUntil: number, durable: ClaimDurability = "now"): Promise<JobRecord[]> {
    if (max < 1) return [];
    // SQLite's commits (WAL, synchronous=NORMAL) do not wait for the disk either way. On PostgreSQL,
    // set_config(…, true) is SET LOCAL for the statement's own (implicit) transaction: its commit
    // does not wait for the disk, in one round trip rather than BEGIN, SET LOCAL, UPDATE, COMMIT.
    const noWait = durable === "with-next-commit" && this.driver.dialect === "postgres";
    const sql = `${noWait ? "WITH no_wait AS (SELECT set_config('synchronous_commit', 'off', true)) " : ""}UPDATE jobs
       SET status = 'working', lease_owner = $1, lease_expires_at = $2, attempts = attempts + 1, started_at = COALESCE(started_at, $3), updated_at = $3
       ${noWait ? "FROM no_wait " : ""}WHERE id IN (SELECT id FROM jobs WHERE status = 'queued' ORDER BY created_at, id LIMIT $4${this.skipLocked})
       RETURNING ${COLUMNS}`;
    const rows = await this.driver.query<JobRow>(sql, [worker, leaseUntil, now, max]);
    return rows.map(fromRow).sort((a, b) => a.createdAt - b.createdAt);
  }

  async renew(worker: string, ids: readonly string[], leaseUntil: number): Promise<{ lost: string[]; cancelRequested: string[] }> {
    if (ids.length === 0) return { lost: [], cancelRequested: [] };
    const list = ids.map((_, i) => `$${i + 3}`).join(", ");
    const held = await this.driver.query<{ id: string; cancel_requested: boolean | number }>(
      `UPDATE jobs SET lease_expires_at = $1 WHERE lease_owner = $2 AND status = 'working' AND id IN (${list}) RETURNING id, cancel_requested`,
      [leaseUntil, worker, ...ids],
    );
    const still = new Set(held.map((row) => row.id));
    return { lost: ids.filter((id) => !still.has(id)), cancelRequested: held.filter((row) => Boolean(row.cancel_requested)).map((row) => row.id) };
  }

  async reclaimExpired(now: number, maxAttempts: number): Promise<{ requeued: JobRecord[]; ended: JobRecord[] }> {
    return this.driver.transaction(async (tx) => {
      const expired = (
        await tx.query<JobRow>(`SELECT ${COLUMNS} FROM jobs WHERE status = 'working' AND lease_expires_at < $1 ORDER BY created_at${this.skipLocked}`, [now])
      ).map(fromRow);
      const requeued: JobRecord[] = [];
      const ended: JobRecord[] = [];
      for (const job of expired) {
        if (job.idempotent && !job.cancelRequested && job.attempts < maxAttempts) {
          await tx.execute(
            "UPDATE jobs SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL, backend_task_id = NULL, updated_at = $2 WHERE id = $1",
            [job.id, now],
          );
          requeued.push({ ...job, status: "queued" });
        } else {
          const outcome: JobOutcome = job.cancelRequested
            ? { status: "cancelled", error: { message: "cancelled: the gateway running this job stopped while the cancel was under way" } }
            : { status: "failed", error: { message: interruptedError(job, maxAttempts) } };
          await this.end(tx, job.id, outcome, now);
          ended.push({ ...job, status: outcome.status, error: outcome.error });
        }
      }
      return { requeued, ended };
    });
  }

  async setProgress(id: string, worker: string, progress: JobProgress, now: number): Promise<void> {
    await this.driver.execute("UPDATE jobs SET progress = $3, updated_at = $4 WHERE id = $1 AND lease_owner = $2 AND status = 'working'", [
      id,
      worker,
      JSON.stringify(progress),
      now,
    ]);
  }

  async setBackendTask(id: string, worker: string, backendTaskId: string, now: number): Promise<void> {
    await this.driver.execute("UPDATE jobs SET backend_task_id = $3, updated_at = $4 WHERE id = $1 AND lease_owner = $2 AND status = 'working'", [
      id,
      worker,
      backendTaskId,
      now,
    ]);
  }

  async finish(id: string, worker: string, outcome: JobOutcome, now: number): Promise<boolean> {
    return (await this.end(this.driver, id, outcome, now, worker)) > 0;
  }

  async release(id: string, worker: string, now: number): Promise<void> {
    await this.driver.execute(
      "UPDATE jobs SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL, attempts = attempts - 1, updated_at = $3 WHERE id = $1 AND lease_owner = $2 AND status = 'working'",
      [id, worker, now],
    );
  }

  async cancel(id: string, now: number): Promise<{ job: JobRecord; effect: CancelEffect } | undefined> {
    return this.driver.transaction(async (tx) => {
      const rows = await tx.query<JobRow>(`SELECT ${COLUMNS} FROM jobs WHERE id = $1${this.driver.dialect === "postgres" ? " FOR UPDATE" : ""}`, [id]);
      if (!rows[0]) return undefined;
      const job = fromRow(rows[0]);
      let effect: CancelEffect;
      if (job.status === "queued") {
        await this.end(tx, id, { status: "cancelled", error: { message: "cancelled before it started" } }, now);
        effect = "cancelled";
      } else if (job.status === "working" || job.status === "input_required") {
        await tx.execute("UPDATE jobs SET cancel_requested = $2, updated_at = $3 WHERE id = $1", [id, true, now]);
        effect = "requested";
      } else {
        return { job, effect: "already-ended" as const };
      }
      const after = await tx.query<JobRow>(`SELECT ${COLUMNS} FROM jobs WHERE id = $1`, [id]);
      return { job: fromRow(after[0]!), effect };
    });
  }

  async deleteExpired(now: number): Promise<number> {
    return this.driver.execute("DELETE FROM jobs WHERE expires_at < $1", [now]);
  }

  /** Ends a job (held by `worker` when given): status, result or error, and when it expires. */
  private end(executor: SqlExecutor, id: string, outcome: JobOutcome, now: number, worker?: string): Promise<number> {
    const result = "result" in outcome && outcome.result !== undefined ? JSON.stringify(outcome.result) : null;
    const error = "error" in outcome ? JSON.stringify(outcome.error) : null;
    return executor.execute(
      `UPDATE jobs SET status = $2, result = $3, error = $4, finished_at = $5, updated_at = $5, expires_at = $5 + ttl_ms,
         lease_owner = NULL, lease_expires_at = NULL
       WHERE id = $1 AND status IN ('queued', 'working', 'input_required')${worker === undefined ? "" : " AND lease_owner = $6"}`,
      [id, outcome.status, result, error, now, ...(worker === undefined ? [] : [worker])],
    );
  }
}
