import { JOB_STATUSES } from "../../src/jobs/job-record.ts";
import type { JobStatus } from "../../src/jobs/job-record.ts";
import { jobView, progressMessage } from "../../src/jobs/job-views.ts";
import { ConflictError, NotFoundError, UsageError } from "../../src/errors.ts";
import { type CommandContext, withStore } from "../context.ts";
import { auditOperatorEvents, operatorName } from "../operator-audit.ts";
import { printJson, printTable } from "../output.ts";

const MAX_LIST = 10_000;

/** `mcpgw jobs list [--status S] [--limit N] [--json]`: everyone's jobs, newest first (the operator reads the database). */
export async function runJobsList(context: CommandContext, options: { status?: string; limit?: string; json?: boolean }): Promise<void> {
  const status = parseStatus(options.status);
  const limit = parseLimit(options.limit);
  const jobs = await withStore(context, (store) => store.jobs.list({ limit, ...(status && { status }) }));
  if (options.json) return printJson(jobs.map(jobView));
  if (jobs.length === 0) {
    console.log(status ? `no ${status} jobs` : "no jobs yet: submit one with POST /v1/jobs, or as an MCP task (tools/call with params.task)");
    return;
  }
  printTable(
    ["ID", "STATUS", "OWNER", "BACKEND/TOOL", "CREATED", "PROGRESS", "ATTEMPTS"],
    jobs.map((job) => [
      job.id,
      job.cancelRequested && job.status === "working" ? "cancelling" : job.status,
      job.owner,
      `${job.backend}/${job.tool}`,
      new Date(job.createdAt).toISOString(),
      progressMessage(job.progress) ?? "-",
      String(job.attempts),
    ]),
  );
}

/** `mcpgw jobs show ID [--json]`. */
export async function runJobsShow(context: CommandContext, id: string, options: { json?: boolean }): Promise<void> {
  const job = await withStore(context, (store) => store.jobs.get(id));
  if (!job) throw new NotFoundError(`there is no job "${id}"`, "list the jobs with: mcpgw jobs list (ended jobs are deleted after their TTL)");
  const view = jobView(job);
  if (options.json) return printJson(view);
  const rows: [string, string][] = [
    ["id", view.id],
    ["status", view.cancelRequested && view.status === "working" ? "working (cancel requested)" : view.status],
    ["owner", view.owner],
    ["tool", `${view.backend}/${view.tool}`],
    ["arguments", JSON.stringify(job.arguments)],
    ["attempts", String(view.attempts)],
    ["idempotent", job.idempotent ? "yes (retried if a gateway dies mid-call)" : "no"],
    ["created", view.createdAt],
    ...(view.startedAt ? [["started", view.startedAt] as [string, string]] : []),
    ...(view.finishedAt ? [["finished", view.finishedAt] as [string, string]] : []),
    ...(view.expiresAt ? [["expires", view.expiresAt] as [string, string]] : []),
    ...(view.progress ? [["progress", progressMessage(view.progress) ?? String(view.progress.progress)] as [string, string]] : []),
    ...(view.error ? [["error", `${view.error.message}${view.error.code !== undefined ? ` (code ${view.error.code})` : ""}`] as [string, string]] : []),
    ...(view.result ? [["result", JSON.stringify(view.result)] as [string, string]] : []),
  ];
  const width = Math.max(...rows.map(([key]) => key.length));
  for (const [key, value] of rows) console.log(`${key.padEnd(width)}  ${value}`);
}

/**
 * `mcpgw jobs cancel ID [--by NAME]`: a queued job ends at once; a running one is stopped by its
 * gateway within a second. Audited as the owner's cancel through the API is (method jobs/cancel,
 * the job's id as request id), with the operator as subject.
 */
export async function runJobsCancel(context: CommandContext, id: string, options: { by?: string } = {}): Promise<void> {
  const by = operatorName(options.by);
  const outcome = await withStore(context, async (store) => {
    const cancelled = await store.jobs.cancel(id, Date.now());
    if (cancelled && cancelled.effect !== "already-ended") {
      const what = cancelled.effect === "cancelled" ? "cancelled (it had not started)" : "cancel requested (it was running)";
      await auditOperatorEvents(context, store, [
        {
          by,
          backend: cancelled.job.backend,
          target: cancelled.job.tool,
          method: "jobs/cancel",
          requestId: id,
          arguments: { jobId: id, owner: cancelled.job.owner },
          outcome: { status: "ok", errorMessage: `job ${id} of ${cancelled.job.owner} ${what} by ${by}` },
        },
      ]);
    }
    return cancelled;
  });
  if (!outcome) throw new NotFoundError(`there is no job "${id}"`, "list the jobs with: mcpgw jobs list");
  switch (outcome.effect) {
    case "cancelled":
      console.log(`cancelled job ${id} (it had not started)`);
      return;
    case "requested":
      console.log(`cancelling job ${id}: the gateway running it stops the call within a second (see: mcpgw jobs show ${id})`);
      return;
    case "already-ended":
      throw new ConflictError(`job ${id} already ended (${outcome.job.status}): there is nothing to cancel`, `see its outcome with: mcpgw jobs show ${id}`);
  }
}

function parseStatus(text: string | undefined): JobStatus | undefined {
  if (text === undefined) return undefined;
  if ((JOB_STATUSES as readonly string[]).includes(text)) return text as JobStatus;
  throw new UsageError(`--status "${text}" is not a job status`, `use one of: ${JOB_STATUSES.join(", ")}`);
}

function parseLimit(text: string | undefined): number {
  if (text === undefined) return 100;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > MAX_LIST) throw new UsageError(`--limit "${text}" is not a number from 1 to ${MAX_LIST}`, "use e.g. --limit 50");
  return n;
}
