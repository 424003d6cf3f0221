import type { z } from "zod";
import type {
  AuditPageSchema,
  AuditRecordDetailSchema,
  AuditRecordSchema,
  AuditVerifySchema,
  ChainReportSchema,
  RevokedTokenSchema,
  RoleListSchema,
  TokenListSchema,
} from "../../admin/admin-api-schemas.ts";
import type { AdminJobListSchema, BackendStatusListSchema, SessionListSchema } from "../../admin/ops-schemas.ts";
import type { CallEventSchema, CallStatsSchema, LimitUsageSchema, PolicyCheckBodySchema, PolicyCheckSchema } from "../../admin/live-api-schemas.ts";
import type { JobView } from "../../jobs/job-api-schemas.ts";

/**
 * The admin API's answers as the console reads them: types only, inferred from the schemas the API
 * validates and documents with (never a value import: zod stays out of the browser bundle).
 */

export type AuditRecord = z.infer<typeof AuditRecordSchema>;
export type AuditRecordPage = z.infer<typeof AuditPageSchema>;
export type AuditRecordDetail = z.infer<typeof AuditRecordDetailSchema>;
export type AuditVerify = z.infer<typeof AuditVerifySchema>;
export type ChainReport = z.infer<typeof ChainReportSchema>;
export type AuditStatus = AuditRecord["status"];
export type RoleList = z.infer<typeof RoleListSchema>;
export type TokenList = z.infer<typeof TokenListSchema>;
export type RevokedToken = z.infer<typeof RevokedTokenSchema>;
export type { JobView };

/** `event: call` of GET /v1/admin/calls/stream. */
export type CallEvent = z.infer<typeof CallEventSchema>;

/** GET /v1/admin/stats?minutes=N */
export type CallStats = z.infer<typeof CallStatsSchema>;

/** POST /v1/admin/policy/check */
export type PolicyCheckBody = z.infer<typeof PolicyCheckBodySchema>;
export type PolicyCheck = z.infer<typeof PolicyCheckSchema>;

/** GET /v1/admin/limits/usage */
export type LimitUsageList = z.infer<typeof LimitUsageSchema>;

/** GET /v1/admin/sessions */
export type SessionList = z.infer<typeof SessionListSchema>;

/** GET /v1/admin/backends/status */
export type BackendStatusList = z.infer<typeof BackendStatusListSchema>;

/** GET /v1/admin/jobs */
export type JobList = z.infer<typeof AdminJobListSchema>;
