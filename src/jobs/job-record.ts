/** A job's states (the REST API's schemas, job-api-schemas.ts, describe them from this list). */
export const JOB_STATUSES = ["queued", "working", "input_required", "completed", "failed", "cancelled"] as const;
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
export type NewJob = Pick<
  JobRecord,
  "id" | "owner" | "roles" | "origin" | "backend" | "tool" | "arguments" | "idempotent" | "ttlMs" | "createdAt" | "traceparent" | "tracestate"
>;

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
