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
export interface CallEvent {
  ts: string;
  subject: string | null;
  roles: string[];
  client: string | null;
  backend: string | null;
  method: string;
  target: string | null;
  status: string;
  latencyMs: number | null;
  errorCode: number | null;
  errorMessage: string | null;
  rule: string | null;
}

/** GET /v1/admin/stats?minutes=N */
export interface CallStats {
  since: string;
  minutes: { t: string; calls: number; refusals: number }[];
  backends: { backend: string; calls: number; errors: number; p50Ms: number | null; p90Ms: number | null; p99Ms: number | null }[];
}

/** POST /v1/admin/policy/check */
export interface PolicyCheckBody {
  subject: string;
  roles?: string[];
  target: string;
  arguments?: Record<string, unknown>;
}
export interface PolicyCheck {
  allowed: boolean;
  rule: string;
  roles: string[];
  target: { kind: string; backend: string; name: string };
}

/** GET /v1/admin/limits/usage */
export interface LimitUsageList {
  usage: {
    id: string;
    scope: string;
    tool: string | null;
    rate: string;
    burst: number;
    key: string;
    used: number | null;
    remaining: number | null;
    resetsAt: string | null;
  }[];
}

/** GET /v1/admin/sessions */
export type SessionList = z.infer<typeof SessionListSchema>;

/** GET /v1/admin/backends/status */
export type BackendStatusList = z.infer<typeof BackendStatusListSchema>;

/** GET /v1/admin/jobs */
export type JobList = z.infer<typeof AdminJobListSchema>;
