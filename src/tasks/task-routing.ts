import type { Request, Result } from "@modelcontextprotocol/sdk/types.js";
import type { JobService } from "../jobs/job-service.ts";
import type { CallerSession, ClientRequestExtra } from "../pipeline/caller-session.ts";
import type { RoutePlan, TaskRouting } from "../pipeline/route.ts";
import { MODERN_TASK_METHODS, modernTaskCall, modernTaskMethod } from "./modern-task-methods.ts";
import { TASK_METHODS, taskAugmentedCall, taskMethod } from "./task-methods.ts";

type Params = Record<string, unknown>;

/** 2025-era MCP Tasks: the client asks for a task (params.task); every tool is offered as one. */
class LegacyTaskRouting implements TaskRouting {
  constructor(private readonly jobs: JobService) {}

  handles(method: string): boolean {
    return TASK_METHODS.has(method);
  }

  method(session: CallerSession, request: Request, extra: ClientRequestExtra): RoutePlan {
    return taskMethod(this.jobs, session, request, extra);
  }

  call(plan: RoutePlan, session: CallerSession, request: Request, extra: ClientRequestExtra): RoutePlan | undefined {
    return (request.params as Params | undefined)?.task !== undefined ? taskAugmentedCall(plan, this.jobs, session, request, extra) : undefined;
  }

  list(plan: RoutePlan, session: CallerSession): RoutePlan {
    return { ...plan, run: async () => offerTasks(await listed(this.jobs, session, plan)) };
  }
}

/**
 * 2026-07-28 MCP Tasks (the tasks extension): the server decides, and a tool the backend runs only as a
 * task becomes one; the 2025 task parameter is ignored.
 */
class ModernTaskRouting implements TaskRouting {
  constructor(private readonly jobs: JobService) {}

  handles(method: string): boolean {
    return MODERN_TASK_METHODS.has(method);
  }

  method(session: CallerSession, request: Request, extra: ClientRequestExtra): RoutePlan {
    return modernTaskMethod(this.jobs, session, request, extra);
  }

  call(plan: RoutePlan, session: CallerSession, request: Request, extra: ClientRequestExtra): RoutePlan | undefined {
    const required = plan.backend !== undefined && plan.target !== undefined && this.jobs.taskSupport.requires(plan.backend, plan.target);
    return required ? modernTaskCall(plan, this.jobs, session, request, extra) : undefined;
  }

  list(plan: RoutePlan, session: CallerSession): RoutePlan {
    return { ...plan, run: () => listed(this.jobs, session, plan) };
  }
}

/** A tools/list result, its tools' task support recorded (which calls a 2026-07-28 client makes tasks). */
async function listed(jobs: JobService, session: CallerSession, plan: RoutePlan): Promise<Result> {
  const result = await plan.run();
  jobs.taskSupport.record(session.route, result.tools);
  return result;
}

/**
 * The gateway can run any tool as a task, so a tool the backend would only run directly is
 * offered with taskSupport "optional"; "required" stays (the backend insists on its own tasks).
 */
function offerTasks(result: Result): Result {
  if (!Array.isArray(result.tools)) return result;
  return {
    ...result,
    tools: result.tools.map((tool: Params) => {
      const execution = (tool.execution ?? {}) as Params;
      return execution.taskSupport === "required" ? tool : { ...tool, execution: { ...execution, taskSupport: "optional" } };
    }),
  };
}

// One routing per job service and era, shared by every session: sessions hold no per-session copy.
const legacy = new WeakMap<JobService, TaskRouting>();
const modern = new WeakMap<JobService, TaskRouting>();

/** MCP Tasks for a caller of `era` over the gateway's jobs; undefined when the gateway runs none. */
export function taskRouting(jobs: JobService | undefined, era: CallerSession["era"]): TaskRouting | undefined {
  if (!jobs) return undefined;
  const cache = era === "modern" ? modern : legacy;
  let routing = cache.get(jobs);
  if (!routing) cache.set(jobs, (routing = era === "modern" ? new ModernTaskRouting(jobs) : new LegacyTaskRouting(jobs)));
  return routing;
}
