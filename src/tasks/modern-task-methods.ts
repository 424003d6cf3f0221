import type { ClientCapabilities, Request, Result } from "@modelcontextprotocol/sdk/types.js";
import { ErrorCode, McpError } from "../protocol/mcp-values.ts";
import { authenticate } from "../pipeline/authenticate.ts";
import type { CallerSession, ClientRequestExtra } from "../pipeline/caller-session.ts";
import type { RoutePlan } from "../pipeline/route.ts";
import { type JobRecord, TERMINAL_STATUSES } from "../jobs/job-record.ts";
import type { JobService } from "../jobs/job-service.ts";
import { submitCall } from "./task-methods.ts";
import { TASK_POLL_INTERVAL_MS, progressMessage } from "../jobs/job-views.ts";

/**
 * MCP Tasks as 2026-07-28 has them: the extension `io.modelcontextprotocol/tasks`, negotiated per
 * request (the client names it in its capabilities' `extensions`, the gateway in discover's). The
 * server decides which calls become tasks: the gateway runs a tools/call as a task (one of its
 * durable jobs, as for 2025 sessions and /v1/jobs) when the backend's tool requires it
 * (execution.taskSupport "required", as the backend's tools/list said) — such a tool cannot be
 * called directly at all. The client polls tasks/get, which carries the result or error once the
 * task ends (there is no tasks/result any more), and stops it with tasks/cancel.
 */
export const TASKS_EXTENSION = "io.modelcontextprotocol/tasks";
export const MODERN_TASK_METHODS: ReadonlySet<string> = new Set(["tasks/get", "tasks/update", "tasks/cancel"]);

/** Error of a client that did not declare the extension (2026-07-28 MissingRequiredClientCapability). */
const MISSING_CAPABILITY = -32021;

export function declaresTasks(capabilities: ClientCapabilities): boolean {
  const extensions = (capabilities as { extensions?: Record<string, unknown> }).extensions;
  return typeof extensions === "object" && extensions !== null && extensions[TASKS_EXTENSION] !== undefined;
}

export function missingTasksCapability(method: string): McpError {
  return new McpError(MISSING_CAPABILITY, `${method} needs the ${TASKS_EXTENSION} extension in the request's client capabilities`, {
    requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } },
  });
}

/** A job as the extension's Task; with `detailed`, the result or error of an ended one (tasks/get). */
export function modernTaskView(job: JobRecord, detailed: boolean): Record<string, unknown> {
  // The extension counts a tool's own error (isError) as completed; failed is for errors of the call itself.
  const status = job.result !== undefined ? "completed" : job.status === "queued" ? "working" : job.status;
  const statusMessage = job.result === undefined ? (job.error?.message ?? (job.status === "queued" ? "queued" : progressMessage(job.progress))) : undefined;
  return {
    taskId: job.id,
    status,
    ...(statusMessage !== undefined && { statusMessage }),
    createdAt: new Date(job.createdAt).toISOString(),
    lastUpdatedAt: new Date(job.updatedAt).toISOString(),
    ttlMs: job.ttlMs,
    ...(!TERMINAL_STATUSES.has(job.status) && { pollIntervalMs: TASK_POLL_INTERVAL_MS }),
    ...(detailed && job.result !== undefined && { result: job.result }),
    ...(detailed &&
      job.result === undefined &&
      job.status === "failed" && { error: { code: job.error?.code ?? ErrorCode.InternalError, message: job.error?.message ?? "the task failed" } }),
  };
}

/** tools/call run as a task: routed, authorised, limited and audited already; the client gets the task at once. */
export function modernTaskCall(plan: RoutePlan, jobs: JobService, session: CallerSession, request: Request, extra: ClientRequestExtra): RoutePlan {
  return { ...plan, run: async () => ({ resultType: "task", ...modernTaskView(await submitCall(plan, jobs, session, request, extra), false) }) };
}

/** tasks/get, tasks/update and tasks/cancel: the caller's own jobs, on this endpoint's backend(s). */
export function modernTaskMethod(jobs: JobService, session: CallerSession, request: Request, extra: ClientRequestExtra): RoutePlan {
  const params = (request.params ?? {}) as Record<string, unknown>;
  const find = async (): Promise<JobRecord> => {
    const job = await jobs.get(authenticate(extra), String(params.taskId));
    // Unknown, another caller's, or another endpoint's: the same answer, so nothing leaks.
    if (!job || (session.route.kind === "backend" && session.route.backend !== job.backend)) {
      throw new McpError(ErrorCode.InvalidParams, `Failed to retrieve task: Task not found (${String(params.taskId)})`);
    }
    return job;
  };
  const run = async (): Promise<Result> => {
    switch (request.method) {
      case "tasks/get":
        return { resultType: "complete", ...modernTaskView(await find(), true) };
      case "tasks/update":
        // A job never asks its client anything, so there is no outstanding input to take: acknowledged, ignored.
        await find();
        return { resultType: "complete" };
      case "tasks/cancel": {
        const job = await find();
        // Cancelling is cooperative and eventually consistent: an ended task is acknowledged as it is.
        if (!TERMINAL_STATUSES.has(job.status)) {
          await jobs.cancel(authenticate(extra), job.id, { origin: "mcp", requestId: String(extra.requestId) }).catch((err: unknown) => {
            // It ended meanwhile (409): acknowledged all the same.
            if ((err as { httpStatus?: unknown }).httpStatus !== 409) throw err;
          });
        }
        return { resultType: "complete" };
      }
      default:
        throw new McpError(ErrorCode.MethodNotFound, `Method not found: ${request.method}`);
    }
  };
  return { kind: "method", target: request.method, run };
}
