import type { JOB_STATUSES } from "./job-api-schemas.ts";

export type JobStatus = (typeof JOB_STATUSES)[number];
export type JobOrigin = "rest" | "mcp";
/** When a claim must be on disk: at its own commit, or with the next synchronous commit on the same database. */
export type ClaimDurability = "now" | "with-next-commit";

/** Statuses a job never leaves. */
export const TERMINAL_STATUSES: ReadonlySet<JobStatus> = new Set(["completed", "failed", "cancelled"]);

export interface JobProgress {
  progress: number;
  total?: number;
  message?: string;
}

export interface JobError {
  code?: number;
  message: string;
}

/** A job as stored: one tool call, who asked for it, and where it stands. */
export interface JobRecord {
  id: string;
  owner: string;
  /** The submitter's roles at submit time, for the run's audit record. */
  roles: string[];
  origin: JobOrigin;
  backend: string;
  tool: string;
  arguments: Record<string, unknown>;
  status: JobStatus;
  progress?: JobProgress;
  /** The CallToolResult, when the call returned one (completed, or failed with isError). */
  result?: Record<string, unknown>;
  error?: JobError;
  attempts: number;
  /** Retried after an interruption only when true (tool annotation idempotentHint or the backend's config). */
  idempotent: boolean;
  cancelRequested: boolean;
  /** The backend's own task id when the backend runs the call as an MCP task. */
  backendTaskId?: string;
  /** The W3C trace context of the submitting request (its traceparent, naming the gateway's span), which the run continues. */
  traceparent?: string;
  tracestate?: string;
  leaseOwner?: string;
  leaseExpiresAt?: number;
  ttlMs: number;
  createdAt: number;
  updatedAt: number;
  startedAt?: number;
  finishedAt?: number;
  expiresAt?: number;
}

/** What a submit stores; the rest is filled in by the repository. */
export type NewJob = Pick<JobRecord, "id" | "owner" | "roles" | "origin" | "backend" | "tool" | "arguments" | "idempotent" | "ttlMs" | "createdAt" | "traceparent" | "tracestate">;

/** How a run ended, as the worker reports it. */
export type JobOutcome =
  | { status: "completed"; result: Record<string, unknown> }
  | { status: "failed"; result?: Record<string, unknown>; error: JobError }
  | { status: "cancelled"; error: JobError };

export interface JobFilter {
  /** Only this subject's jobs; undefined = everyone's (admins, the CLI). */
  owner?: string;
  status?: JobStatus;
  backend?: string;
  limit: number;
  /** Keyset cursor: jobs created before this one (newest first). */
  before?: { createdAt: number; id: string };
}

/** A cancel's effect: ended at once (it was queued), asked of the running gateway, or too late. */
export type CancelEffect = "cancelled" | "requested" | "already-ended";

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
