import type { Progress, Result } from "@modelcontextprotocol/sdk/types.js";
import { ErrorCode, McpError } from "../protocol/mcp-values.ts";
import type { BackendConnection } from "../backends/backend-connection.ts";
import type { BackendPool } from "../backends/backend-pool.ts";
import { formatSize } from "../config/size.ts";
import { plainMessage } from "../protocol/gateway-errors.ts";
import type { JobBackends } from "./job-backends.ts";
import { type CallContext, runAsCall } from "../credentials/call-context.ts";
import type { JobOutcome, JobProgress, JobRecord } from "./job-record.ts";
import type { JobSettings } from "../config/job-settings.ts";

/** What a run reports while it goes. */
export interface RunCallbacks {
  onProgress(progress: JobProgress): void;
  onBackendTask(taskId: string): void;
  /** The id of the per-caller credential the run's backend requests carried (never a value), once known: the audit names it. */
  onCredential?(credentialId: string): void;
}

const TERMINAL_TASK = new Set(["completed", "failed", "cancelled"]);
const POLL_MIN_MS = 100;
const POLL_MAX_MS = 5_000;

/**
 * Runs one job's tool call against its backend and says how it ended. A backend that runs the
 * tool as an MCP task itself (execution.taskSupport and the tasks capability) gets a
 * task-augmented call, which the runner polls; any other backend gets a plain tools/call, the
 * gateway being the one that makes it a task.
 */
export class JobRunner {
  constructor(
    private readonly backends: JobBackends,
    private readonly pool: BackendPool,
    private readonly settings: Pick<JobSettings, "timeoutMs" | "maxResultBytes">,
  ) {}

  async run(job: JobRecord, signal: AbortSignal, callbacks: RunCallbacks): Promise<JobOutcome> {
    const owner = { subject: job.owner, roles: job.roles };
    const connection = this.backends.connection(job.backend, owner);
    const gate = this.pool.gate(connection.spec);
    const call = async () => {
      const tool = await this.backends.tool(job.backend, job.tool, owner);
      const taskSupport = tool?.execution?.taskSupport;
      await connection.connect();
      const backendRunsTasks =
        (taskSupport === "required" || taskSupport === "optional") && connection.serverCapabilities.tasks?.requests?.tools?.call !== undefined;
      return backendRunsTasks ? this.runAsBackendTask(connection, job, signal, callbacks) : this.callTool(connection, job, signal, callbacks);
    };
    // The run is a call of its owner's: a gateway assertion names the owner and the job.
    const context: CallContext = { id: job.id, ...owner };
    let result: Awaited<ReturnType<typeof call>>;
    try {
      result = await runAsCall(context, () => (gate ? gate.run(signal, call) : call()));
    } finally {
      if (context.credentialId !== undefined) callbacks.onCredential?.(context.credentialId);
    }
    const size = Buffer.byteLength(JSON.stringify(result));
    if (size > this.settings.maxResultBytes) {
      return {
        status: "failed",
        error: {
          message: `the result (${formatSize(size)}) is larger than a job may keep (${formatSize(this.settings.maxResultBytes)}; MCPGW_JOB_MAX_RESULT_BYTES)`,
        },
      };
    }
    if (result.isError === true) return { status: "failed", result, error: { message: "the tool reported an error (isError)" } };
    return { status: "completed", result };
  }

  private callTool(connection: BackendConnection, job: JobRecord, signal: AbortSignal, callbacks: RunCallbacks): Promise<Result> {
    return connection.request(
      { method: "tools/call", params: { name: job.tool, arguments: job.arguments } },
      { signal, timeoutMs: this.settings.timeoutMs, onprogress: (progress) => callbacks.onProgress(progressOf(progress)) },
    );
  }

  /** MCP Tasks at the backend: create, poll tasks/get until it ends, then tasks/result; a cancel is passed on as tasks/cancel. */
  private async runAsBackendTask(connection: BackendConnection, job: JobRecord, signal: AbortSignal, callbacks: RunCallbacks): Promise<Result> {
    const created = await connection.request(
      { method: "tools/call", params: { name: job.tool, arguments: job.arguments, task: { ttl: job.ttlMs } } },
      { signal, timeoutMs: this.settings.timeoutMs, onprogress: (progress) => callbacks.onProgress(progressOf(progress)) },
    );
    const task = created.task as { taskId?: unknown } | undefined;
    // A backend may answer a task-augmented call directly; then that is the result.
    if (typeof task?.taskId !== "string") return created;
    const taskId = task.taskId;
    callbacks.onBackendTask(taskId);
    const deadline = Date.now() + this.settings.timeoutMs;
    try {
      for (;;) {
        signal.throwIfAborted();
        const status = await connection.request({ method: "tasks/get", params: { taskId } }, { signal });
        if (typeof status.statusMessage === "string") callbacks.onProgress({ progress: 0, message: status.statusMessage });
        if (TERMINAL_TASK.has(String(status.status))) break;
        if (status.status === "input_required") {
          throw new McpError(ErrorCode.InvalidRequest, `backend task ${taskId} asks for input (sampling or elicitation), which a job has no client to give`);
        }
        if (Date.now() > deadline)
          throw new McpError(ErrorCode.RequestTimeout, `backend task ${taskId} did not finish within the job timeout (MCPGW_JOB_TIMEOUT)`);
        const interval = typeof status.pollInterval === "number" ? status.pollInterval : 1_000;
        await abortableSleep(Math.min(POLL_MAX_MS, Math.max(POLL_MIN_MS, interval)), signal);
      }
      return await connection.request({ method: "tasks/result", params: { taskId } }, { signal, timeoutMs: this.settings.timeoutMs });
    } catch (err) {
      if (signal.aborted) {
        // The backend's task runs on without us unless told: cancel it there too (best effort).
        await connection.request({ method: "tasks/cancel", params: { taskId } }).catch(() => undefined);
      }
      throw err;
    }
  }
}

function progressOf(progress: Progress): JobProgress {
  return {
    progress: progress.progress,
    ...(progress.total !== undefined && { total: progress.total }),
    ...(progress.message !== undefined && { message: progress.message }),
  };
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** A failed run's error as a job keeps it: the JSON-RPC code when there is one, and a plain message. */
export function jobErrorOf(err: unknown): { code?: number; message: string } {
  const code = (err as { code?: unknown }).code;
  return { ...(typeof code === "number" && { code }), message: plainMessage(err) };
}
