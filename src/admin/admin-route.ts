import type { z } from "zod";
import type { AuthSettings } from "../config/auth-settings.ts";
import type { Principal } from "../auth/principal.ts";
import type { CallStats } from "../observability/call-stats.ts";
import type { AdminPermission } from "../policy/permission.ts";
import type { Policy } from "../policy/policy.ts";
import type { ProbeContext } from "../operator-calls/backend-service.ts";
import type { Store } from "../store/store.ts";
import type { CallStreams } from "./call-stream.ts";
import type { BackendStatusReader } from "../backends/backend-status.ts";
import type { JobService } from "../jobs/job-service.ts";

/** The client name of audit records the admin API writes. */
export const ADMIN_CLIENT_NAME = "mcpgw-admin-api";

/** What the admin routes work with: the gateway's store and what the CLI's services need beside it. */
export interface AdminServices {
  store: Store;
  /** Issuer, audience and algorithm of the tokens `POST /v1/admin/tokens` mints. */
  auth: Pick<AuthSettings, "tokenIssuer" | "tokenAudience" | "signingAlg">;
  /** How backends are tested: the gateway's environment, a logger, its version. */
  probe: ProbeContext;
  /** The backends' live state as this gateway process sees it (health, era, tools, connections, processes). */
  backendStatus: BackendStatusReader;
  /** The jobs service, for what the admin API does with anyone's jobs (the same code paths as the owners'). */
  jobs: Pick<JobService, "listAll" | "cancelAsOperator">;
  /** The policy in force (recompiled when roles change): what the policy checker asks. */
  policy: { readonly current: Policy };
  /** The live stream of this process's calls, and its per-minute stats. */
  calls: { streams: CallStreams; stats: CallStats };
}

/** One change an admin route made, for the audit log. */
export interface AdminChange {
  /** What was changed: a role's name, a backend's, a token's jti, a limit's id. */
  target: string;
  /** The backend it concerns, when it is one (so `audit tail --backend` finds it). */
  backend?: string;
  /** The thing before the change (null when it was created) and after it (null when it was removed). */
  before: unknown;
  after: unknown;
}

/** What a route handler is given. */
export interface AdminRequest<Body = unknown, Query = unknown> {
  principal: Principal;
  /** The path's {name}s, decoded. */
  params: Record<string, string>;
  body: Body;
  query: Query;
  services: AdminServices;
  /** Aborted when the client goes away (what ends a stream). */
  signal: AbortSignal;
  /**
   * Whether the caller may still use this route: its token still valid (not revoked or expired)
   * and its roles, as the policy in force now reads them, still granting the route's permission.
   * What a long-lived answer (the live stream) checks before each thing it sends.
   */
  stillAllowed(): boolean;
  /** Audits the change this request made (after it was made): who, the rule that allowed it, before and after. */
  recordChange(change: AdminChange): Promise<void>;
}

/** A handler's answer: a JSON body (200 unless it says otherwise), or a response of its own (a stream). */
export type AdminAnswer = { status?: number; body: unknown } | { response: Response };

/** A response that is not JSON (an event stream), as /openapi.json describes it. */
export interface AdminTextResponse {
  contentType: string;
  description: string;
}

/**
 * One route of the admin API: how /openapi.json describes it (method, path, schemas, statuses),
 * the permission it needs, the action name its audit records carry, and its handler. The router
 * (admin-router.ts) and the document are both built from the one table (admin-routes.ts).
 */
export interface AdminRoute {
  readonly method: "get" | "post" | "put" | "patch" | "delete";
  /** `/v1/admin/roles/{name}`: each {param} matches one path segment. */
  readonly path: string;
  readonly summary: string;
  readonly description?: string;
  readonly permission: AdminPermission;
  /** `roles.create`: audit records of the route carry `admin/<action>` as their method. */
  readonly action: string;
  readonly body?: z.ZodType;
  readonly query?: z.ZodObject;
  readonly responses: { readonly [status: number]: z.ZodType | AdminTextResponse };
  // biome-ignore lint/suspicious/noExplicitAny: each route's handler takes its own body and query types (parsed by its schemas first)
  handle(request: AdminRequest<any, any>): Promise<AdminAnswer>;
}
