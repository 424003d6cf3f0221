import type { Request, Result } from "@modelcontextprotocol/sdk/types.js";
import type { JobService } from "../jobs/job-service.ts";
import type { CallerSession, ClientRequestExtra } from "../pipeline/caller-session.ts";
import type { RoutePlan, TaskRouting } from "../pipeline/route.ts";
import { MODERN_TASK_METHODS, modernTaskCall, modernTaskMethod } from "./modern-task-methods.ts";
import { TASK_METHODS, taskAugmentedCall, taskMethod } from "./task-methods.ts";

type Params = Record<string, unknown>;

/** What differs between the eras' MCP Tasks. */
interface EraTasks {
  methods: ReadonlySet<string>;
  method(jobs: JobService, session: CallerSession, request: Request, extra: ClientRequestExtra): RoutePlan;
  /** The plan that runs a routed tools/call as a task, or undefined when it stays direct. */
  call(plan: RoutePlan, jobs: JobService, session: CallerSession, request: Request, extra: ClientRequestExtra): RoutePlan | undefined;
  /** What the client gets of a tools/list. */
  offer(result: Result): Result;
}

/** 2025-era MCP Tasks: the client asks for a task (params.task); every tool is offered as one. */
const LEGACY: EraTasks = {
  methods: TASK_METHODS,
  method: taskMethod,
  call: (plan, jobs, session, request, extra) => {
    const asked = (request.params as Params | undefined)?.task !== undefined;
    return asked ? taskAugmentedCall(plan, jobs, session, request, extra) : undefined;
  },
  offer: offerTasks,
};

/**
 * 2026-07-28 MCP Tasks (the tasks extension): the server decides, and a tool the backend runs only as a
 * task becomes one; the 2025 task parameter is ignored.
 */
const MODERN: EraTasks = {
  methods: MODERN_TASK_METHODS,
  method: modernTaskMethod,
  call: (plan, jobs, session, request, extra) => {
    const required = plan.backend !== undefined && plan.target !== undefined && jobs.taskSupport.requires(plan.backend, plan.target);
    return required ? modernTaskCall(plan, jobs, session, request, extra) : undefined;
  },
  offer: (result) => result,
};

class EraTaskRouting implements TaskRouting {
  constructor(
    private readonly jobs: JobService,
    private readonly era: EraTasks,
  ) {}

  handles(method: string): boolean {
    return this.era.methods.has(method);
  }

  method(session: CallerSession, request: Request, extra: ClientRequestExtra): RoutePlan {
    return this.era.method(this.jobs, session, request, extra);
  }

  call(plan: RoutePlan, session: CallerSession, request: Request, extra: ClientRequestExtra): RoutePlan | undefined {
    return this.era.call(plan, this.jobs, session, request, extra);
  }

  /** The tools' task support is recorded (which calls a 2026-07-28 client makes tasks) before the client gets the list. */
  list(plan: RoutePlan, session: CallerSession): RoutePlan {
    return {
      ...plan,
      run: async () => {
        const result = await plan.run();
        this.jobs.taskSupport.record(session.route, result.tools);
        return this.era.offer(result);
      },
    };
  }
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
  if (!routing) {
    routing = new EraTaskRouting(jobs, era === "modern" ? MODERN : LEGACY);
    cache.set(jobs, routing);
  }
  return routing;
}
