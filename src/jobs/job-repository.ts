import type { CancelEffect, ClaimDurability, JobFilter, JobOutcome, JobProgress, JobRecord, JobStatus, NewJob } from "./job-record.ts";

/** The durable job queue. One contract (test/store.contract.ts), SQLite and PostgreSQL. */
export interface JobRepository {
  create(job: NewJob): Promise<JobRecord>;
  /** How many jobs are in each status now (statuses without jobs are left out). */
  countByStatus(): Promise<Partial<Record<JobStatus, number>>>;
  get(id: string): Promise<JobRecord | undefined>;
  list(filter: JobFilter): Promise<JobRecord[]>;
  /**
   * Takes up to `max` queued jobs, oldest first, for `worker` until `leaseUntil`: they become
   * working with one more attempt. On PostgreSQL concurrent claimers skip each other's rows
   * (FOR UPDATE SKIP LOCKED), so no job is claimed twice.
   *
   * `durable` "with-next-commit" lets the claim's commit return before it is flushed to disk
   * (PostgreSQL: synchronous_commit off for that transaction alone). Only for a caller whose next
   * step is a synchronous commit on the same database before anything leaves the gateway: the
   * write-ahead record of the run, whose flush makes the claim durable too (the log is flushed in
   * order). A claim lost in a database crash before that leaves the job queued, as it was.
   */
  claim(worker: string, max: number, now: number, leaseUntil: number, durable?: ClaimDurability): Promise<JobRecord[]>;
  /** Extends the worker's leases; reports jobs it no longer holds and jobs whose cancel was asked for. */
  renew(worker: string, ids: readonly string[], leaseUntil: number): Promise<{ lost: string[]; cancelRequested: string[] }>;
  /**
   * Jobs whose worker's lease ran out (the gateway died): an idempotent one with attempts left
   * goes back to the queue, any other fails as interrupted (or ends cancelled if that was asked).
   */
  reclaimExpired(now: number, maxAttempts: number): Promise<{ requeued: JobRecord[]; ended: JobRecord[] }>;
  /** Records progress of a job the worker holds. */
  setProgress(id: string, worker: string, progress: JobProgress, now: number): Promise<void>;
  setBackendTask(id: string, worker: string, backendTaskId: string, now: number): Promise<void>;
  /** Ends a job the worker holds; false when it no longer holds it (another gateway took it over). */
  finish(id: string, worker: string, outcome: JobOutcome, now: number): Promise<boolean>;
  /** Gives a claimed job back to the queue without counting the attempt (it never reached the backend). */
  release(id: string, worker: string, now: number): Promise<void>;
  /** Cancels a job: at once when queued, by request when running; undefined when there is no such job. */
  cancel(id: string, now: number): Promise<{ job: JobRecord; effect: CancelEffect } | undefined>;
  /** Deletes ended jobs whose TTL has passed; returns how many. */
  deleteExpired(now: number): Promise<number>;
}
