import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage, Progress, Request, RequestId, Result } from "@modelcontextprotocol/sdk/types.js";
import { ErrorCode, McpError } from "../protocol/mcp-values.ts";
import { DeadlineQueue, type WatchedDeadline } from "../http/deadline-queue.ts";
import { listenAbort, unlistenAbort } from "./call-signal.ts";

export interface DirectRequestOptions {
  /** Rejects with McpError(RequestTimeout) when no response came within this many ms. */
  timeoutMs: number;
  /** Progress from the backend restarts the timeout (a backend that reports progress is working). */
  resetTimeoutOnProgress?: boolean;
  signal?: AbortSignal;
  onprogress?: (progress: Progress) => void;
}

interface Pending {
  resolve(result: Result): void;
  reject(err: unknown): void;
  timeoutMs: number;
  resetOnProgress: boolean;
  deadline: WatchedDeadline;
  onTimeout(): void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  /** For tasks/get, tasks/result and tasks/cancel: the backend task it is about. */
  taskId: string | undefined;
  method: string;
}

/**
 * Ids this path gives its requests start here: far above the SDK client's own (it numbers from 0
 * and sends only `initialize`), and within a signed 32-bit integer for servers that assume one.
 */
const FIRST_ID = 1 << 20;
const TERMINAL_TASK_STATUSES = new Set(["completed", "failed", "cancelled"]);
const TASK_METHODS = new Set(["tasks/get", "tasks/result", "tasks/cancel"]);
/** Every backend request's timeout, on one timer: a timer per call cost about 4 µs of a relayed call's CPU. */
const timeouts = new DeadlineQueue();

/**
 * The gateway's requests to a backend, sent straight on the connection's transport and matched
 * to their responses here, instead of through the SDK client's `request()`. The benchmark
 * profile showed the SDK's per-message zod checks (classifying every incoming message, parsing
 * every result) as the largest share of a relayed call; the gateway relays results untouched, so
 * it needs none of them. Same contract as the SDK's `Protocol.request` for everything the gateway
 * uses: progress (with the timeout reset), cancellation (notifications/cancelled on abort),
 * timeouts, and McpError for JSON-RPC errors and for a closed connection.
 *
 * The SDK client stays attached for the rest (initialize, requests and notifications the backend
 * starts): `intercept` takes the messages that belong to these requests and hands it all others.
 */
export class DirectRequests {
  private nextId = FIRST_ID;
  private readonly pending = new Map<RequestId, Pending>();
  /** Progress handlers by token: the request's id, kept past a CreateTaskResult until the task ends. */
  private readonly progress = new Map<RequestId, (progress: Progress) => void>();
  /** For a backend task's progress handler: the token it is kept under. */
  private readonly taskTokens = new Map<string, RequestId>();
  private closedWith: McpError | undefined;

  constructor(private readonly transport: Transport) {}

  /**
   * Wraps the transport's message handler (set by the SDK client's connect): responses and
   * progress for requests sent here are settled here, in arrival order; the rest goes on.
   */
  intercept(): void {
    const next = this.transport.onmessage;
    this.transport.onmessage = (message, extra) => {
      if (!this.take(message)) next?.(message, extra);
    };
  }

  get inFlight(): number {
    return this.pending.size;
  }

  request(request: Request, options: DirectRequestOptions): Promise<Result> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(cancelError(signal.reason));
    const id = this.nextId++;
    let params = request.params;
    if (options.onprogress) {
      this.progress.set(id, options.onprogress);
      params = { ...params, _meta: { ...(params?._meta as Record<string, unknown> | undefined), progressToken: id } };
    }
    const message: { jsonrpc: "2.0"; id: number; method: string; params?: unknown } = { jsonrpc: "2.0", id, method: request.method };
    if (params !== undefined) message.params = params;
    return new Promise<Result>((resolve, reject) => {
      const pending: Pending = {
        resolve,
        reject,
        timeoutMs: options.timeoutMs,
        resetOnProgress: options.resetTimeoutOnProgress === true,
        deadline: undefined as unknown as WatchedDeadline,
        onTimeout: () => this.cancel(id, McpError.fromError(ErrorCode.RequestTimeout, "Request timed out", { timeout: options.timeoutMs })),
        signal,
        onAbort: undefined,
        taskId: TASK_METHODS.has(request.method) && typeof params?.taskId === "string" ? params.taskId : undefined,
        method: request.method,
      };
      pending.deadline = timeouts.watch(options.timeoutMs, pending.onTimeout);
      if (signal) {
        pending.onAbort = () => this.cancel(id, signal.reason);
        // Removed again when the request settles; on the front's call signals, cheaply (call-signal.ts).
        listenAbort(signal, pending.onAbort);
      }
      this.pending.set(id, pending);
      this.transport.send(message as JSONRPCMessage).catch((err: unknown) => {
        if (this.settle(id)) reject(err);
      });
    });
  }

  /** Cancels every request still waiting (the backend is told), each failing with `reason`. */
  cancelAll(reason: unknown): void {
    for (const id of [...this.pending.keys()]) this.cancel(id, reason);
  }

  /** The connection is gone: every request still waiting fails with ConnectionClosed (as the SDK's). */
  close(): void {
    this.closedWith = new McpError(ErrorCode.ConnectionClosed, "Connection closed");
    for (const id of [...this.pending.keys()]) {
      const pending = this.pending.get(id)!;
      this.settle(id);
      pending.reject(this.closedWith);
    }
    this.progress.clear();
    this.taskTokens.clear();
  }

  /**
   * Handles the message when it belongs to a request sent here (its response, its progress);
   * false otherwise. For a transport whose messages the caller routes itself instead of `intercept`.
   */
  take(message: JSONRPCMessage): boolean {
    const raw = message as { id?: RequestId; method?: unknown; params?: { progressToken?: RequestId }; result?: unknown; error?: unknown };
    if (raw.method === undefined) {
      if (raw.id === undefined || !this.pending.has(raw.id)) return false;
      this.onResponse(raw.id, raw);
      return true;
    }
    if (raw.method !== "notifications/progress") return false;
    const token = raw.params?.progressToken;
    const handler = token === undefined ? undefined : this.progress.get(token);
    if (!handler) return false;
    const pending = this.pending.get(token!);
    if (pending?.resetOnProgress) {
      timeouts.release(pending.deadline);
      pending.deadline = timeouts.watch(pending.timeoutMs, pending.onTimeout);
    }
    const { progressToken: _token, ...progress } = raw.params as Progress & { progressToken: RequestId };
    try {
      handler(progress);
    } catch {
      // Progress is advisory: a consumer that fails on it must not break the connection's reading.
    }
    return true;
  }

  private onResponse(id: RequestId, response: { result?: unknown; error?: unknown }): void {
    const pending = this.pending.get(id)!;
    this.settle(id, response.result);
    if (response.error !== undefined) {
      const error = response.error as { code?: unknown; message?: unknown; data?: unknown };
      const code = typeof error.code === "number" ? error.code : ErrorCode.InternalError;
      pending.reject(McpError.fromError(code, typeof error.message === "string" ? error.message : "(no message)", error.data));
      return;
    }
    const result = response.result;
    // Results are relayed as they are: the only check is that there is one, and it is an object.
    if (typeof result !== "object" || result === null || Array.isArray(result)) {
      pending.reject(new Error(`the backend's response to request ${String(id)} has no result object`));
      return;
    }
    pending.resolve(result as Result);
  }

  /**
   * Stops waiting for `id`; false when it was no longer waited for. A CreateTaskResult keeps its
   * request's progress handler (the task reports progress under that token) until the task's
   * result is fetched, it is cancelled, or tasks/get shows it ended.
   */
  private settle(id: RequestId, result?: unknown): boolean {
    const pending = this.pending.get(id);
    if (!pending) return false;
    this.pending.delete(id);
    timeouts.release(pending.deadline);
    if (pending.onAbort && pending.signal) unlistenAbort(pending.signal, pending.onAbort);
    const created = (result as { task?: { taskId?: unknown } } | undefined)?.task?.taskId;
    if (typeof created === "string" && this.progress.has(id)) this.taskTokens.set(created, id);
    else this.progress.delete(id);
    if (pending.taskId !== undefined) {
      const status = (result as { status?: unknown } | undefined)?.status;
      if (pending.method !== "tasks/get" || TERMINAL_TASK_STATUSES.has(String(status))) this.forgetTask(pending.taskId);
    }
    return true;
  }

  /** Sends notifications/cancelled for a request given up on (abort reason or timeout) and rejects it. */
  private cancel(id: RequestId, reason: unknown): void {
    const pending = this.pending.get(id);
    if (!pending || !this.settle(id)) return;
    this.progress.delete(id);
    this.transport.send({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: id, reason: String(reason) } }).catch(() => undefined); // the connection may be gone; the request is given up on either way
    pending.reject(cancelError(reason));
  }

  private forgetTask(taskId: string): void {
    const token = this.taskTokens.get(taskId);
    if (token === undefined) return;
    this.taskTokens.delete(taskId);
    this.progress.delete(token);
  }
}

/** The error an aborted request rejects with: the reason when it is an McpError, as the SDK does. */
function cancelError(reason: unknown): McpError {
  return reason instanceof McpError ? reason : new McpError(ErrorCode.RequestTimeout, String(reason));
}
