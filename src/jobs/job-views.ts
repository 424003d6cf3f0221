import type { JobView } from "./job-api-schemas.ts";
import { type JobProgress, type JobRecord, type JobStatus, TERMINAL_STATUSES } from "./job-record.ts";

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/** A job as the REST API and `mcpgw jobs show --json` print it. */
export function jobView(job: JobRecord): JobView {
  const view: JobView = {
    id: job.id,
    status: job.status,
    backend: job.backend,
    tool: job.tool,
    owner: job.owner,
    attempts: job.attempts,
    idempotent: job.idempotent,
    cancelRequested: job.cancelRequested,
    createdAt: iso(job.createdAt)!,
    updatedAt: iso(job.updatedAt)!,
    statusUrl: `/v1/jobs/${encodeURIComponent(job.id)}`,
  };
  if (job.progress) view.progress = job.progress;
  if (job.result) view.result = job.result;
  if (job.error) view.error = job.error;
  if (job.startedAt !== undefined) view.startedAt = iso(job.startedAt)!;
  if (job.finishedAt !== undefined) view.finishedAt = iso(job.finishedAt)!;
  if (job.expiresAt !== undefined) view.expiresAt = iso(job.expiresAt)!;
  return view;
}

/** MCP task statuses: a queued job is already "working" for the client (it has been accepted). */
const TASK_STATUS = {
  queued: "working",
  working: "working",
  input_required: "input_required",
  completed: "completed",
  failed: "failed",
  cancelled: "cancelled",
} as const satisfies Record<JobStatus, string>;

/** How often a client should poll tasks/get, in ms. */
export const TASK_POLL_INTERVAL_MS = 500;

/** A job as an MCP Task (2025-11-25 basic/utilities/tasks): progress goes into statusMessage. */
export function taskView(job: JobRecord): Record<string, unknown> {
  const statusMessage = job.error?.message ?? (job.status === "queued" ? "queued" : progressMessage(job.progress));
  return {
    taskId: job.id,
    status: TASK_STATUS[job.status],
    ...(statusMessage !== undefined && { statusMessage }),
    createdAt: iso(job.createdAt),
    lastUpdatedAt: iso(job.updatedAt),
    ttl: job.ttlMs,
    ...(!TERMINAL_STATUSES.has(job.status) && { pollInterval: TASK_POLL_INTERVAL_MS }),
  };
}

/** "3/10: fetching" — what a person wants to see of a progress notification. */
export function progressMessage(progress: JobProgress | undefined): string | undefined {
  if (!progress) return undefined;
  const amount = progress.total !== undefined ? `${progress.progress}/${progress.total}` : progress.progress > 0 ? String(progress.progress) : "";
  return [amount, progress.message].filter((part) => part).join(": ") || undefined;
}

/** An opaque page cursor: the last job of the page (lists are newest first, keyset-paged). */
export function encodeCursor(createdAt: number, id: string): string {
  return Buffer.from(`${createdAt}:${id}`).toString("base64url");
}

export function decodeCursor(cursor: string): { createdAt: number; id: string } | undefined {
  const match = /^(\d{1,16}):([A-Za-z0-9-]{1,64})$/.exec(Buffer.from(cursor, "base64url").toString());
  return match ? { createdAt: Number(match[1]), id: match[2]! } : undefined;
}
