import { z } from "zod";
import { JOB_STATUSES } from "./job-record.ts";

/**
 * The REST jobs API's bodies, as zod schemas: the handlers (src/jobs/jobs-api.ts) parse with
 * them, and /openapi.json is generated from them, so the two cannot drift apart.
 */

/** One job as the API shows it: the example in /openapi.json. */
const JOB_EXAMPLE = {
  id: "0193a5f2-7c1e-7d3a-9f0b-2c4d6e8f0a1b",
  status: "completed",
  backend: "github",
  tool: "search_issues",
  owner: "alice",
  progress: { progress: 100, total: 100 },
  result: { content: [{ type: "text", text: "3 open issues labelled bug" }], isError: false },
  attempts: 1,
  idempotent: true,
  cancelRequested: false,
  createdAt: "2026-12-04T21:00:00.000Z",
  updatedAt: "2026-12-04T21:00:02.310Z",
  startedAt: "2026-12-04T21:00:00.012Z",
  finishedAt: "2026-12-04T21:00:02.310Z",
  expiresAt: "2026-12-04T22:00:02.310Z",
  statusUrl: "/v1/jobs/0193a5f2-7c1e-7d3a-9f0b-2c4d6e8f0a1b",
};

export { JOB_STATUSES };
export const JobStatusSchema = z
  .enum(JOB_STATUSES)
  .describe("queued → working → completed | failed | cancelled")
  .meta({ examples: ["working"] });

export const SubmitJobBodySchema = z
  .strictObject({
    backend: z.string().min(1).describe("the backend's name, as in `mcpgw backend list`"),
    tool: z.string().min(1).describe("the tool, as the backend names it"),
    arguments: z.record(z.string(), z.unknown()).optional().describe("the tool's arguments (default {})"),
    ttl: z.number().int().positive().optional().describe("how long the job and its result are kept after it ends, in seconds (capped by MCPGW_JOB_MAX_TTL)"),
  })
  .describe("A tool call to run asynchronously")
  .meta({ examples: [{ backend: "github", tool: "search_issues", arguments: { query: "is:open label:bug" }, ttl: 3600 }] });

export const JobProgressSchema = z
  .object({
    progress: z.number(),
    total: z.number().optional(),
    message: z.string().optional(),
  })
  .describe("The last progress notification the backend sent")
  .meta({ examples: [{ progress: 40, total: 100, message: "indexed 40 of 100 repositories" }] });

export const JobErrorSchema = z
  .object({
    code: z.number().int().optional().describe("the JSON-RPC error code, when the backend or gateway gave one"),
    message: z.string(),
  })
  .describe("Why the job failed or was cancelled")
  .meta({ examples: [{ code: -32013, message: "backend github did not answer within 30s (MCPGW_JOB_TIMEOUT)" }] });

export const JobSchema = z
  .object({
    id: z.string(),
    status: JobStatusSchema,
    backend: z.string(),
    tool: z.string(),
    owner: z.string().describe("the subject that submitted the job"),
    progress: JobProgressSchema.optional(),
    result: z.record(z.string(), z.unknown()).optional().describe("the tool's CallToolResult, once completed (or failed with isError)"),
    error: JobErrorSchema.optional(),
    attempts: z.number().int().describe("times a gateway started the job (more than 1 after an interrupted idempotent job was retried)"),
    idempotent: z.boolean().describe("the tool is idempotent (its annotations or the backend's --idempotent-tool): an interrupted run is retried"),
    cancelRequested: z.boolean().describe("a cancel was asked for and the running call is being stopped"),
    createdAt: z.string().describe("ISO 8601"),
    updatedAt: z.string(),
    startedAt: z.string().optional(),
    finishedAt: z.string().optional(),
    expiresAt: z.string().optional().describe("when the ended job and its result are deleted"),
    statusUrl: z.string().describe("where to poll this job"),
  })
  .describe("An asynchronous tool call and where it stands")
  .meta({ examples: [JOB_EXAMPLE] });

export const JobListSchema = z
  .object({
    jobs: z.array(JobSchema),
    nextCursor: z.string().optional().describe("pass as ?cursor= for the next page"),
  })
  .describe("Jobs, newest first")
  .meta({ examples: [{ jobs: [JOB_EXAMPLE], nextCursor: "MTczMzM1MTYwMDAwMHwwMUpDNlE3" }] });

export const ListJobsQuerySchema = z.strictObject({
  status: JobStatusSchema.optional(),
  limit: z.coerce.number().int().min(1).max(500).optional().describe("page size (default 100)"),
  cursor: z.string().optional(),
});

export const ApiErrorSchema = z
  .object({
    error: z.string().describe("what went wrong"),
    hint: z.string().optional().describe("what to do about it"),
    field: z.string().optional().describe("the request field at fault, on a 400 of the admin API (e.g. `allow[1]`, `ttl`)"),
  })
  .describe("An error")
  .meta({
    examples: [
      {
        error: 'denied by policy: "alice" may not use tool "github/delete_repo" (deny github/delete_* (role dev))',
        hint: "ask for a role that allows it: mcpgw role list",
      },
    ],
  });

export type SubmitJobBody = z.infer<typeof SubmitJobBodySchema>;
export type JobView = z.infer<typeof JobSchema>;
export type JobListView = z.infer<typeof JobListSchema>;

/** The REST routes of the jobs API, for /openapi.json: method, path, what they take and answer. */
export const JOB_ROUTES = [
  {
    method: "post",
    path: "/v1/jobs",
    summary: "Submit a tool call as a job",
    description: "Runs the same authentication, policy, rate limits and audit as a direct call, stores the job and answers at once.",
    body: SubmitJobBodySchema,
    responses: { 202: JobSchema, 400: ApiErrorSchema, 401: ApiErrorSchema, 403: ApiErrorSchema, 404: ApiErrorSchema, 413: ApiErrorSchema, 429: ApiErrorSchema },
  },
  {
    method: "get",
    path: "/v1/jobs",
    summary: "List the caller's jobs (an admin sees everyone's)",
    query: ListJobsQuerySchema,
    responses: { 200: JobListSchema, 400: ApiErrorSchema, 401: ApiErrorSchema },
  },
  {
    method: "get",
    path: "/v1/jobs/{id}",
    summary: "A job's status, progress and result",
    responses: { 200: JobSchema, 401: ApiErrorSchema, 404: ApiErrorSchema },
  },
  {
    method: "delete",
    path: "/v1/jobs/{id}",
    summary: "Cancel a job",
    description:
      "A queued job is cancelled at once; a running one is stopped (the backend gets notifications/cancelled). A job that already ended answers 409.",
    responses: { 200: JobSchema, 401: ApiErrorSchema, 404: ApiErrorSchema, 409: ApiErrorSchema },
  },
] as const;
