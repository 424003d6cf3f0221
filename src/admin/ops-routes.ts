import type { z } from "zod";
import type { BackendStatus } from "../backends/backend-status.ts";
import { ConflictError, NotFoundError, fieldError } from "../errors.ts";
import { ApiErrorSchema, JobSchema } from "../jobs/job-api-schemas.ts";
import type { JobRecord } from "../jobs/job-record.ts";
import { JobRequestError } from "../jobs/job-service.ts";
import { jobView } from "../jobs/job-views.ts";
import { listSessions } from "../sessions/listed-sessions.ts";
import { ADMIN_CLIENT_NAME, type AdminRoute } from "./admin-route.ts";
import { AdminJobListSchema, AdminJobQuerySchema, BackendStatusListSchema, BackendStatusSchema, SessionListSchema, SessionQuerySchema } from "./ops-schemas.ts";

/**
 * What runs: sessions (every gateway's, as `mcpgw sessions list` reads them), the backends' live
 * status (this gateway process's connections), and jobs (everyone's, cancelled through the owner's
 * code path).
 */

const READ_ERRORS = { 401: ApiErrorSchema, 403: ApiErrorSchema };
const DEFAULT_PAGE = 100;
const FIND_JOBS = "list the jobs with GET /v1/admin/jobs (ended jobs are deleted after their TTL)";

/** What an admin change records of a job: enough to tell which one and where it stood. */
function jobState(job: JobRecord) {
  return { id: job.id, owner: job.owner, backend: job.backend, tool: job.tool, status: job.status, cancelRequested: job.cancelRequested };
}

/** The job service's refusals, as the admin API's errors (its hints point at /v1/jobs, a caller's own). */
function asAdminError(err: unknown, id: string): unknown {
  if (!(err instanceof JobRequestError)) return err;
  if (err.httpStatus === 404) return new NotFoundError(err.message, FIND_JOBS);
  if (err.httpStatus === 409) return new ConflictError(err.message, `read its outcome with GET /v1/admin/jobs/${encodeURIComponent(id)}`);
  return err;
}

export const SESSION_ROUTES: readonly AdminRoute[] = [
  {
    method: "get",
    path: "/v1/admin/sessions",
    summary: "Every running gateway's MCP sessions",
    description:
      "Read from the snapshots each gateway publishes to the database (MCPGW_SESSION_SNAPSHOT_INTERVAL, default 5s), as " +
      "`mcpgw sessions list --json` prints them. A gateway silent for 3 intervals is stale: its sessions are left out unless `includeStale=true`.",
    permission: "read",
    action: "sessions.list",
    query: SessionQuerySchema,
    responses: { 200: SessionListSchema, 400: ApiErrorSchema, ...READ_ERRORS },
    async handle({ services, query }) {
      const { includeStale } = query as z.infer<typeof SessionQuerySchema>;
      return { body: listSessions(await services.store.sessionSnapshots.list(), Date.now(), { includeStale: includeStale === "true" }) };
    },
  },
];

/** Before the table's `/v1/admin/backends/{name}` routes: the router matches in order, so "status" is this route, never a backend's name. */
export const BACKEND_STATUS_ROUTES: readonly AdminRoute[] = [
  {
    method: "get",
    path: "/v1/admin/backends/status",
    summary: "Every backend's live state as this gateway sees it",
    description:
      "Health, era, protocol revision, the tools it last listed with their pins, and the connections and processes open to it, " +
      "in THIS gateway process (each replica has its own). The gateway connects on first use and never polls: a backend no one " +
      "used yet is `unknown`. No backend can be named `status`.",
    permission: "read",
    action: "backends.status",
    responses: { 200: BackendStatusListSchema, ...READ_ERRORS },
    async handle({ services }) {
      return { body: { backends: services.backendStatus.list() } };
    },
  },
  {
    method: "get",
    path: "/v1/admin/backends/{name}/status",
    summary: "One backend's live state as this gateway sees it",
    permission: "read",
    action: "backends.status",
    responses: { 200: BackendStatusSchema, ...READ_ERRORS, 404: ApiErrorSchema },
    async handle({ services, params }): Promise<{ body: BackendStatus }> {
      const status = services.backendStatus.get(params.name!);
      if (!status) throw new NotFoundError(`there is no backend "${params.name}"`, "list them with GET /v1/admin/backends");
      return { body: status };
    },
  },
];

export const JOB_ADMIN_ROUTES: readonly AdminRoute[] = [
  {
    method: "get",
    path: "/v1/admin/jobs",
    summary: "Every subject's jobs, newest first",
    description: "Filters combine (all must match). Follow `nextCursor` for older jobs. Ended jobs are kept for their TTL.",
    permission: "read",
    action: "jobs.list",
    query: AdminJobQuerySchema,
    responses: { 200: AdminJobListSchema, 400: ApiErrorSchema, ...READ_ERRORS },
    async handle({ services, query }) {
      const q = query as z.infer<typeof AdminJobQuerySchema>;
      try {
        const page = await services.jobs.listAll({
          limit: q.limit ?? DEFAULT_PAGE,
          ...(q.status !== undefined && { status: q.status }),
          ...(q.subject !== undefined && { owner: q.subject }),
          ...(q.backend !== undefined && { backend: q.backend }),
          ...(q.cursor !== undefined && { cursor: q.cursor }),
        });
        return { body: { jobs: page.jobs.map(jobView), nextCursor: page.nextCursor ?? null } };
      } catch (err) {
        if (err instanceof JobRequestError && err.httpStatus === 400)
          throw fieldError("cursor", `cursor "${q.cursor}" is not one this API gave out`, "pass the nextCursor of the previous page as is, or leave it out");
        throw err;
      }
    },
  },
  {
    method: "get",
    path: "/v1/admin/jobs/{id}",
    summary: "One job: its progress, and its result or error once it ended",
    permission: "read",
    action: "jobs.show",
    responses: { 200: JobSchema, ...READ_ERRORS, 404: ApiErrorSchema },
    async handle({ services, params }) {
      const job = await services.store.jobs.get(params.id!);
      if (!job) throw new NotFoundError(`there is no job "${params.id}"`, FIND_JOBS);
      return { body: jobView(job) };
    },
  },
  {
    method: "post",
    path: "/v1/admin/jobs/{id}/cancel",
    summary: "Cancel anyone's job",
    description:
      "As the owner's cancel (DELETE /v1/jobs/{id}): a queued job ends at once; a running one is stopped (the backend gets " +
      "notifications/cancelled), and the answer waits up to 5s for it to end. A job that already ended answers 409.",
    permission: "write",
    action: "jobs.cancel",
    responses: { 200: JobSchema, 401: ApiErrorSchema, 403: ApiErrorSchema, 404: ApiErrorSchema, 409: ApiErrorSchema },
    async handle({ services, params, principal, recordChange }) {
      const id = params.id!;
      const before = await services.store.jobs.get(id);
      if (!before) throw new NotFoundError(`there is no job "${id}"`, FIND_JOBS);
      let after: JobRecord;
      try {
        after = await services.jobs.cancelAsOperator(principal, id, { origin: "rest", clientName: ADMIN_CLIENT_NAME });
      } catch (err) {
        throw asAdminError(err, id);
      }
      await recordChange({ target: id, backend: before.backend, before: jobState(before), after: jobState(after) });
      return { body: jobView(after) };
    },
  },
];
