import type { Auditor } from "../audit/auditor.ts";
import type { RequestAuthenticator } from "../auth/request-authenticator.ts";
import { type UnauthenticatedOptions, refuseUnauthenticatedApi } from "../pipeline/unauthenticated.ts";
import { describeError } from "../errors.ts";
import { plainMessage } from "../protocol/gateway-errors.ts";
import { BUDGET_HINTS } from "../json/json-budget.ts";
import { readBodyText } from "../http/body-reader.ts";
import { type JsonBudget, exceedsJsonBudget } from "../json/json-budget.ts";
import type { Logger } from "../log/logger.ts";
import type { Principal } from "../auth/principal.ts";
import { Refusal } from "../pipeline/refusal.ts";
import { type JobService, httpStatusOf } from "./job-service.ts";
import { jobView } from "./job-views.ts";

/** The request schemas (zod), loaded with the first submission or listing: zod is several MB of RSS an idle gateway does without. */
const jobApiSchemas = () => import("./job-api-schemas.ts");

export interface JobsApiOptions extends UnauthenticatedOptions {
  service: JobService;
  authenticator: RequestAuthenticator;
  auditor: Auditor;
  maxBodyBytes: number;
  /** The whole request body must arrive within this long (408 beyond). */
  bodyTimeoutMs: number;
  /** What a body may cost beyond its size (see json-budget.ts). */
  jsonBudget: JsonBudget;
  logger: Logger;
}

const JOB_PATH = /^\/v1\/jobs\/([A-Za-z0-9-]{1,64})$/;
const DEFAULT_PAGE = 100;

function problem(status: number, error: string, hint?: string, headers: Record<string, string> = {}): Response {
  return Response.json({ error, ...(hint !== undefined && { hint }) }, { status, headers: { "cache-control": "no-store", ...headers } });
}

/**
 * The REST jobs API (/v1/jobs), for callers that are not MCP sessions: the same bearer tokens,
 * policy, limits and audit as /mcp (JobService), JSON in and out, errors as {error, hint}.
 */
export function createJobsApi(options: JobsApiOptions): (request: Request, path: string) => Promise<Response> {
  const { service } = options;

  async function route(request: Request, path: string, principal: Principal): Promise<Response> {
    const url = new URL(request.url);
    if (path === "/v1/jobs") {
      if (request.method === "POST") return submit(request, principal);
      if (request.method === "GET") return list(url, principal);
      return problem(405, `${request.method} is not allowed on /v1/jobs`, "POST submits a job, GET lists them", { allow: "GET, POST" });
    }
    const match = JOB_PATH.exec(path);
    if (!match) return problem(404, `no job route at ${path}`, "jobs live at /v1/jobs/{id}");
    const id = match[1]!;
    if (request.method === "GET") {
      const job = await service.get(principal, id);
      return job
        ? Response.json(jobView(job), { headers: { "cache-control": "no-store" } })
        : problem(404, `there is no job "${id}"`, "list your jobs with GET /v1/jobs");
    }
    if (request.method === "DELETE") {
      const job = await service.cancel(principal, id, { origin: "rest" });
      return Response.json(jobView(job));
    }
    return problem(405, `${request.method} is not allowed on a job`, "GET reads it, DELETE cancels it", { allow: "GET, DELETE" });
  }

  async function submit(request: Request, principal: Principal): Promise<Response> {
    const text = await readBodyText(request, { maxBytes: options.maxBodyBytes, timeoutMs: options.bodyTimeoutMs });
    if (typeof text !== "string") {
      const hint = text.status === 413 ? "send smaller arguments, or raise MCPGW_MAX_BODY_BYTES" : "send the whole body at once";
      return invalidBody(principal, text.status, text.status === 413 ? `the request body exceeds ${options.maxBodyBytes} bytes` : text.reason, hint, {
        connection: "close",
      });
    }
    const excess = exceedsJsonBudget(text, options.jsonBudget);
    if (excess) return invalidBody(principal, 400, `the body is refused: ${excess.problem}${BUDGET_HINTS[excess.bound]}`, "send simpler arguments");
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      return invalidBody(principal, 400, `the body is not JSON (${(err as Error).message})`, 'send {"backend": "…", "tool": "…", "arguments": {…}}');
    }
    const parsed = (await jobApiSchemas()).SubmitJobBodySchema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return problem(
        400,
        `invalid job: ${issue.path.length ? `${issue.path.join(".")}: ` : ""}${issue.message}`,
        'send {"backend": "…", "tool": "…", "arguments": {…}, "ttl": seconds}',
      );
    }
    const { backend, tool, arguments: args = {}, ttl } = parsed.data;
    const job = await service.submit(principal, { backend, tool, arguments: args, ...(ttl !== undefined && { ttlMs: ttl * 1_000 }) }, { origin: "rest" });
    const view = jobView(job);
    return Response.json(view, { status: 202, headers: { location: view.statusUrl, "cache-control": "no-store" } });
  }

  /** A submission refused before it was read as a job: audited as invalid, then answered. */
  async function invalidBody(principal: Principal, status: number, error: string, hint: string, headers: Record<string, string> = {}): Promise<Response> {
    await options.auditor
      .refuse(
        { subject: principal.subject, roles: principal.roles, method: "POST /v1/jobs" },
        { status: "invalid", errorCode: status, errorMessage: error, decision: "invalid" },
      )
      .catch((err) => options.logger.error({ err: describeError(err) }, "refused job submission not audited"));
    return problem(status, error, hint, headers);
  }

  async function list(url: URL, principal: Principal): Promise<Response> {
    const parsed = (await jobApiSchemas()).ListJobsQuerySchema.safeParse(Object.fromEntries(url.searchParams));
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return problem(
        400,
        `invalid query: ${issue.path.join(".") || "parameters"}: ${issue.message}`,
        "use ?status=queued|working|completed|failed|cancelled&limit=1..500&cursor=…",
      );
    }
    const { status, limit = DEFAULT_PAGE, cursor } = parsed.data;
    const page = await service.list(principal, { limit, ...(status && { status }), ...(cursor !== undefined && { cursor }) });
    return Response.json(
      { jobs: page.jobs.map(jobView), ...(page.nextCursor !== undefined && { nextCursor: page.nextCursor }) },
      { headers: { "cache-control": "no-store" } },
    );
  }

  return async (request, path) => {
    const auth = await options.authenticator.authenticate(request);
    if (!auth.ok) return refuseUnauthenticatedApi(options, request, path, auth.failure);
    try {
      return await route(request, path, auth.principal);
    } catch (err) {
      const status = httpStatusOf(err);
      if (status === 500) options.logger.error({ err: describeError(err), path }, "jobs request failed");
      const hint = (err as { hint?: unknown }).hint;
      const retryAfter = err instanceof Refusal ? (err.data as { retryAfter?: unknown } | undefined)?.retryAfter : undefined;
      return problem(
        status,
        plainMessage(err),
        typeof hint === "string" ? hint : undefined,
        typeof retryAfter === "number" ? { "retry-after": String(retryAfter) } : {},
      );
    }
  };
}
