import type { Request, Result } from "@modelcontextprotocol/sdk/types.js";
import { ErrorCode, McpError } from "../protocol/mcp-values.ts";
import type { CallerSession, ClientRequestExtra } from "../pipeline/caller-session.ts";
import { authenticate } from "../pipeline/authenticate.ts";
import type { RoutePlan } from "../pipeline/route.ts";
import type { JobRecord } from "../jobs/job-record.ts";
import type { JobService } from "../jobs/job-service.ts";
import { taskView } from "../jobs/job-views.ts";

/** The server capability a session declares when the gateway runs tools as tasks (2025-11-25 basic/utilities/tasks). */
export const TASKS_CAPABILITY = { list: {}, cancel: {}, requests: { tools: { call: {} } } } as const;

const RELATED_TASK = "io.modelcontextprotocol/related-task";
const TASK_PAGE = 50;
export const TASK_METHODS: ReadonlySet<string> = new Set(["tasks/get", "tasks/result", "tasks/list", "tasks/cancel"]);

type Params = Record<string, unknown>;

/**
 * A task-augmented tools/call (params.task): the pipeline has routed, authorised, limited and
 * audited it like any call; instead of forwarding, it becomes a durable job and the client
 * gets the task at once. The gateway runs the call itself, so every tool can be a task; a
 * backend that supports tasks gets the call as a task (job-runner.ts).
 */
export function taskAugmentedCall(plan: RoutePlan, jobs: JobService, session: CallerSession, request: Request, extra: ClientRequestExtra): RoutePlan {
  const task = ((request.params as Params | undefined)?.task ?? {}) as { ttl?: unknown };
  const ttlMs = typeof task.ttl === "number" && task.ttl > 0 ? task.ttl : undefined;
  return { ...plan, run: async () => ({ task: taskView(await submitCall(plan, jobs, session, request, extra, ttlMs)) }) };
}

/**
 * The job that runs a routed tools/call (authorised, limited and audited already by the
 * pipeline): what both eras' tasks submit.
 */
export function submitCall(
  plan: RoutePlan,
  jobs: JobService,
  session: CallerSession,
  request: Request,
  extra: ClientRequestExtra,
  ttlMs?: number,
): Promise<JobRecord> {
  if (plan.backend === undefined || plan.target === undefined) throw new McpError(ErrorCode.InvalidParams, "tools/call needs a tool name");
  const args = ((request.params as Params | undefined)?.arguments ?? {}) as Record<string, unknown>;
  return jobs.submitAdmitted(
    authenticate(extra),
    { backend: plan.backend, tool: plan.target, arguments: args, ...(ttlMs !== undefined && { ttlMs }) },
    { origin: "mcp", requestId: String(extra.requestId), ...(session.id !== "" && { sessionId: session.id }), ...clientOf(session) },
  );
}

/** tasks/get, tasks/result, tasks/list and tasks/cancel: the caller's own jobs, on this session's backend(s). */
export function taskMethod(jobs: JobService, session: CallerSession, request: Request, extra: ClientRequestExtra): RoutePlan {
  const params = (request.params ?? {}) as Params;
  const inRoute = (job: JobRecord | undefined) => (job && (session.route.kind === "aggregate" || session.route.backend === job.backend) ? job : undefined);
  const find = async () => {
    const job = inRoute(await jobs.get(authenticate(extra), String(params.taskId)));
    // The spec's answer for an unknown task id; another caller's task is unknown to this one.
    if (!job) throw new McpError(ErrorCode.InvalidParams, `Task not found: ${String(params.taskId)}`);
    return job;
  };
  const run = async (): Promise<Result> => {
    switch (request.method) {
      case "tasks/get":
        return taskView(await find());
      case "tasks/result": {
        const job = await jobs.waitForEnd(authenticate(extra), (await find()).id, extra.signal);
        return resultOf(job);
      }
      case "tasks/list": {
        const backend = session.route.kind === "backend" ? session.route.backend : undefined;
        const page = await jobs.list(authenticate(extra), {
          limit: TASK_PAGE,
          ...(backend !== undefined && { backend }),
          ...(typeof params.cursor === "string" && { cursor: params.cursor }),
        });
        return { tasks: page.jobs.map(taskView), ...(page.nextCursor !== undefined && { nextCursor: page.nextCursor }) };
      }
      case "tasks/cancel": {
        const job = await find();
        try {
          return taskView(
            await jobs.cancel(authenticate(extra), job.id, { origin: "mcp", requestId: String(extra.requestId), sessionId: session.id, ...clientOf(session) }),
          );
        } catch (err) {
          // The spec: cancelling a task in a terminal status is -32602.
          if ((err as { httpStatus?: unknown }).httpStatus === 409)
            throw new McpError(ErrorCode.InvalidParams, `Cannot cancel task ${job.id}: it is already ${job.status}`);
          throw err;
        }
      }
      default:
        throw new McpError(ErrorCode.MethodNotFound, `Method not found: ${request.method}`);
    }
  };
  return { kind: "method", target: request.method, run };
}

/** tasks/result: what the call itself would have answered, tagged with the task it belongs to. */
function resultOf(job: JobRecord): Result {
  const meta = { [RELATED_TASK]: { taskId: job.id } };
  if (job.result) return { ...job.result, _meta: { ...((job.result._meta as Params | undefined) ?? {}), ...meta } };
  const code = job.status === "cancelled" ? ErrorCode.InvalidRequest : (job.error?.code ?? ErrorCode.InternalError);
  throw new McpError(code, job.error?.message ?? `task ${job.id} ended ${job.status}`, meta);
}

function clientOf(session: CallerSession): { clientName?: string; clientVersion?: string } {
  return session.clientInfo ? { clientName: session.clientInfo.name, clientVersion: session.clientInfo.version } : {};
}
