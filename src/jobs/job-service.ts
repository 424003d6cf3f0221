import { ToolTaskSupport } from "./tool-task-support.ts";
import type { Tool } from "@modelcontextprotocol/sdk/types.js";
import { ErrorCode, McpError } from "../protocol/mcp-values.ts";
import type { AuditContext, AuditOutcome, Auditor } from "../audit/auditor.ts";
import { formatSize } from "../config/size.ts";
import { GatewayErrorCode, plainMessage } from "../protocol/gateway-errors.ts";
import type { RateLimiter } from "../limits/rate-limiter.ts";
import { authorizeCall } from "../pipeline/authorize.ts";
import { admit } from "../pipeline/admission.ts";
import type { Principal } from "../auth/principal.ts";
import { Refusal } from "../pipeline/refusal.ts";
import type { PolicyEngine } from "../policy/policy-engine.ts";
import { currentTrace } from "../tracing/trace-propagation.ts";
import type { JobBackends } from "./job-backends.ts";
import { type JobOrigin, type JobRecord, type JobStatus, TERMINAL_STATUSES } from "./job-record.ts";
import type { JobRepository } from "./job-repository.ts";
import type { JobSettings } from "../config/job-settings.ts";
import type { JobWorkerPool } from "./job-worker-pool.ts";
import { decodeCursor, encodeCursor } from "./job-views.ts";

/** A job request the gateway refuses: a JSON-RPC error for MCP clients, an HTTP status for REST ones. */
export class JobRequestError extends McpError {
  constructor(
    code: number,
    message: string,
    readonly httpStatus: number,
    readonly hint?: string,
  ) {
    super(code, message);
  }
}

export interface SubmitRequest {
  backend: string;
  tool: string;
  arguments: Record<string, unknown>;
  /** Requested time to keep the ended job, in ms; capped at MCPGW_JOB_MAX_TTL. */
  ttlMs?: number;
}

/** Where a request came from, for its audit records. */
export interface RequestOrigin {
  origin: JobOrigin;
  requestId?: string;
  sessionId?: string;
  clientName?: string;
  clientVersion?: string;
}

export interface JobServiceDeps {
  repository: JobRepository;
  backends: JobBackends;
  policy: PolicyEngine;
  limiter: RateLimiter;
  auditor: Auditor;
  settings: JobSettings;
  /** This gateway's workers (absent: jobs are left to other replicas). */
  workers?: JobWorkerPool;
}

const WAIT_POLL_MS = 200;
/** How long a cancel waits for the running job to stop before answering with its state. */
const CANCEL_SETTLE_MS = 5_000;

/**
 * Jobs as callers see them: submit through the admission a direct call passes (src/pipeline/admission.ts:
 * policy, limits, write-ahead audit), then read, list, cancel and wait — each caller only its own jobs,
 * holders of the admin role everyone's. REST (jobs-api.ts) and MCP Tasks (src/tasks/) both use it.
 */
export class JobService {
  /** Tools whose backends require tasks, as their lists said (2026-07-28 clients' calls to them become tasks). */
  readonly taskSupport = new ToolTaskSupport();

  constructor(private readonly deps: JobServiceDeps) {}

  get settings(): JobSettings {
    return this.deps.settings;
  }

  /**
   * A job submitted from outside MCP (REST): admitted like any call (src/pipeline/admission.ts: policy,
   * limits, the write-ahead record), then queued. An unknown backend or oversized arguments are refused
   * before policy; a tool the backend does not have, after it (a caller learns which tools exist only on
   * backends it may use).
   */
  async submit(principal: Principal, request: SubmitRequest, from: RequestOrigin): Promise<JobRecord> {
    // Time-ordered (UUIDv7, monotonic within a millisecond in this process): jobs created in the same
    // millisecond list and are claimed in the order they were submitted, as (created_at, id) sorts them.
    const id = Bun.randomUUIDv7();
    const target = { backend: request.backend, kind: "tool" as const, target: request.tool };
    const policy = this.deps.policy;
    let tool: Tool | undefined;
    const { roles, entry } = await admit(this.deps, {
      principal,
      method: "tools/call",
      route: () => {
        this.validate(request);
        return target;
      },
      authorize: (roles) => authorizeCall(policy.current, principal, roles, { kind: "tool", backend: request.backend, name: request.tool }, request.arguments),
      beforeAudit: async () => {
        tool = await this.findTool(request, principal, this.rolesOf(principal));
      },
      auditContext: (roles) => ({
        ...auditBase(principal, roles, from, id),
        backend: request.backend,
        target: request.tool,
        method: "jobs/submit",
        arguments: request.arguments,
      }),
      audited: true,
      refusalOutcome: jobRefusalOutcome,
    });
    try {
      const job = await this.create(id, principal, roles, request, from, tool!);
      entry?.finish({ status: "ok" });
      return job;
    } catch (err) {
      entry?.finish({ status: "error", errorMessage: plainMessage(err) });
      throw err;
    }
  }

  /**
   * A tools/call the MCP pipeline has admitted already (routed, authorised, limited, its record
   * written), queued as a job: MCP Tasks. A failure here is the call's outcome, which the pipeline records.
   */
  async submitAdmitted(principal: Principal, request: SubmitRequest, from: RequestOrigin): Promise<JobRecord> {
    this.validate(request);
    const roles = this.rolesOf(principal);
    const tool = await this.findTool(request, principal, roles);
    return this.create(Bun.randomUUIDv7(), principal, roles, request, from, tool);
  }

  /** An unknown backend, or arguments larger than a job takes, are refused. */
  private validate(request: SubmitRequest): void {
    this.deps.backends.spec(request.backend);
    const size = Buffer.byteLength(JSON.stringify(request.arguments));
    if (size > this.deps.settings.maxArgumentBytes) {
      throw new JobRequestError(
        ErrorCode.InvalidParams,
        `the arguments (${formatSize(size)}) are larger than a job takes (${formatSize(this.deps.settings.maxArgumentBytes)})`,
        413,
        "send smaller arguments, or raise MCPGW_JOB_MAX_ARGUMENT_BYTES",
      );
    }
  }

  /** The tool as the backend lists it to this caller (a per-caller backend is asked with the caller's credential). */
  private async findTool(request: SubmitRequest, principal: Principal, roles: string[]): Promise<Tool> {
    const found = await this.deps.backends.tool(request.backend, request.tool, { subject: principal.subject, roles });
    if (!found)
      throw new JobRequestError(
        ErrorCode.InvalidParams,
        `backend "${request.backend}" has no tool "${request.tool}"`,
        404,
        `list its tools with: mcpgw backend test ${request.backend}`,
      );
    return found;
  }

  private async create(id: string, principal: Principal, roles: string[], request: SubmitRequest, from: RequestOrigin, tool: Tool): Promise<JobRecord> {
    const { repository, backends, settings } = this.deps;
    // The run continues the submitting request's trace (job-worker-pool.ts).
    const trace = currentTrace();
    const job = await repository.create({
      ...(trace && { traceparent: trace.traceparent, ...(trace.tracestate !== undefined && { tracestate: trace.tracestate }) }),
      id,
      owner: principal.subject,
      roles,
      origin: from.origin,
      backend: request.backend,
      tool: request.tool,
      arguments: request.arguments,
      idempotent: backends.isIdempotent(backends.spec(request.backend), tool),
      ttlMs: Math.min(request.ttlMs ?? settings.defaultTtlMs, settings.maxTtlMs),
      createdAt: Date.now(),
    });
    this.deps.workers?.wake();
    return job;
  }

  /** The job if the principal may see it (its owner, or an admin); undefined otherwise, as if it did not exist. */
  async get(principal: Principal, id: string): Promise<JobRecord | undefined> {
    const job = await this.deps.repository.get(id);
    return job && (job.owner === principal.subject || this.isAdmin(principal)) ? job : undefined;
  }

  /** One page of the jobs the principal may see, newest first, and the cursor of the next page (REST and tasks/list). */
  async list(
    principal: Principal,
    query: { status?: JobStatus; backend?: string; limit: number; cursor?: string },
  ): Promise<{ jobs: JobRecord[]; nextCursor?: string }> {
    const owner = this.isAdmin(principal) ? undefined : principal.subject;
    return this.listAll({ ...query, ...(owner !== undefined && { owner }) });
  }

  /**
   * One page of anyone's jobs (of `owner` when given), newest first, and the cursor of the next page:
   * for callers already allowed to see every job (the admin API, admin:read), and for list().
   */
  async listAll(query: { owner?: string; status?: JobStatus; backend?: string; limit: number; cursor?: string }): Promise<{
    jobs: JobRecord[];
    nextCursor?: string;
  }> {
    const before = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    if (query.cursor !== undefined && !before)
      throw new JobRequestError(ErrorCode.InvalidParams, "invalid cursor: pass the nextCursor of the previous page as it was", 400);
    // One more than asked for says whether there is a next page.
    const found = await this.deps.repository.list({
      limit: query.limit + 1,
      ...(query.status !== undefined && { status: query.status }),
      ...(query.backend !== undefined && { backend: query.backend }),
      ...(before && { before }),
      ...(query.owner !== undefined && { owner: query.owner }),
    });
    const jobs = found.slice(0, query.limit);
    const last = jobs.at(-1);
    return { jobs, ...(found.length > query.limit && last && { nextCursor: encodeCursor(last.createdAt, last.id) }) };
  }

  /** Cancels a job; a running one is stopped (here at once, on another replica within a second) and the backend told. */
  async cancel(principal: Principal, id: string, from: RequestOrigin): Promise<JobRecord> {
    if (!(await this.get(principal, id))) throw notFound(id);
    return this.cancelAllowed(principal, id, from);
  }

  /**
   * Cancels anyone's job, for an operator the admin API admitted (admin:write): the owner's cancel
   * (the same effect, audit record and wait), without the owner check.
   */
  cancelAsOperator(principal: Principal, id: string, from: RequestOrigin): Promise<JobRecord> {
    return this.cancelAllowed(principal, id, from);
  }

  /** The cancel itself, once the caller was found allowed to (the owner, a jobs admin, or an operator of the admin API). */
  private async cancelAllowed(principal: Principal, id: string, from: RequestOrigin): Promise<JobRecord> {
    const cancelled = await this.deps.repository.cancel(id, Date.now());
    if (!cancelled) throw notFound(id);
    if (cancelled.effect === "already-ended") {
      throw new JobRequestError(
        ErrorCode.InvalidParams,
        `job ${id} already ended (${cancelled.job.status}): there is nothing to cancel`,
        409,
        "read its outcome with GET /v1/jobs/{id}",
      );
    }
    const entry = await this.deps.auditor.begin({
      ...auditBase(principal, this.rolesOf(principal), from, id),
      backend: cancelled.job.backend,
      target: cancelled.job.tool,
      method: "jobs/cancel",
    });
    entry.finish({ status: "ok" });
    if (cancelled.effect === "cancelled") return cancelled.job;
    this.deps.workers?.cancelLocal(id);
    return this.ended(id, () => this.deps.repository.get(id), AbortSignal.timeout(CANCEL_SETTLE_MS)).catch(() => cancelled.job);
  }

  /** The job once it has ended, as `read` finds it (polling the store: it may run on another replica). */
  private async ended(id: string, read: () => Promise<JobRecord | undefined>, signal: AbortSignal): Promise<JobRecord> {
    for (;;) {
      const job = await read();
      if (!job) throw notFound(id);
      if (TERMINAL_STATUSES.has(job.status)) return job;
      signal.throwIfAborted();
      await Bun.sleep(WAIT_POLL_MS);
    }
  }

  /** Resolves with the job once it has ended (polling the store: it may run on another replica). */
  waitForEnd(principal: Principal, id: string, signal: AbortSignal): Promise<JobRecord> {
    return this.ended(id, () => this.get(principal, id), signal);
  }

  private rolesOf(principal: Principal): string[] {
    return principal.anonymous ? [] : this.deps.policy.current.rolesOf(principal.subject, principal.roles);
  }

  private isAdmin(principal: Principal): boolean {
    return principal.anonymous || this.rolesOf(principal).includes(this.deps.settings.adminRole);
  }
}

/**
 * Which failures of a REST submission before its record are audited: all of them. The caller's mistake
 * (unknown backend or tool, oversized arguments) is "invalid"; a backend that cannot be asked is an error.
 */
function jobRefusalOutcome(err: unknown): AuditOutcome {
  const refusal = err instanceof Refusal ? err : undefined;
  const code = (err as { code?: unknown }).code;
  const invalid = code === ErrorCode.InvalidParams || code === GatewayErrorCode.UnknownBackend;
  return {
    status: refusal?.status ?? (invalid ? "invalid" : "error"),
    ...(typeof code === "number" && { errorCode: code }),
    errorMessage: plainMessage(err),
    ...(refusal && { decision: refusal.status }),
    ...(refusal?.rule !== undefined && { rule: refusal.rule }),
  };
}

function notFound(id: string): JobRequestError {
  return new JobRequestError(ErrorCode.InvalidParams, `there is no job "${id}"`, 404, "list your jobs with GET /v1/jobs");
}

function auditBase(principal: Principal, roles: string[], from: RequestOrigin, jobId: string): Omit<AuditContext, "method"> {
  return {
    requestId: from.requestId ?? jobId,
    ...(from.sessionId !== undefined && { sessionId: from.sessionId }),
    subject: principal.subject,
    roles,
    ...(from.clientName !== undefined && { clientName: from.clientName, clientVersion: from.clientVersion }),
  };
}

/** The HTTP status of a refusal or error from submit, get, list or cancel. */
export function httpStatusOf(err: unknown): number {
  if (err instanceof JobRequestError) return err.httpStatus;
  if (err instanceof Refusal) return err.status === "denied" ? 403 : err.status === "rate_limited" ? 429 : err.status === "unauthenticated" ? 401 : 400;
  const code = (err as { code?: unknown }).code;
  if (code === GatewayErrorCode.UnknownBackend) return 404;
  if (code === GatewayErrorCode.BackendUnavailable || code === GatewayErrorCode.AuditUnavailable) return 503;
  if (code === GatewayErrorCode.BackendTimeout) return 504;
  return 500;
}
