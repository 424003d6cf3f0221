import type { Auditor } from "../audit/auditor.ts";
import type { RequestAuthenticator } from "../auth/request-authenticator.ts";
import type { JsonBudget } from "../json/json-budget.ts";
import type { Logger } from "../log/logger.ts";
import { type UnauthenticatedOptions, refuseUnauthenticatedApi } from "../pipeline/unauthenticated.ts";
import type { Policy } from "../policy/policy.ts";
import type { AdminServices } from "./admin-route.ts";

export interface AdminApiOptions extends UnauthenticatedOptions {
  authenticator: RequestAuthenticator;
  policy: { readonly current: Policy };
  auditor: Auditor;
  services: AdminServices;
  maxBodyBytes: number;
  /** The whole request body must arrive within this long (408 beyond). */
  bodyTimeoutMs: number;
  jsonBudget: JsonBudget;
  logger: Logger;
}

/** Whether a path is the admin API's. */
export function isAdminPath(path: string): boolean {
  return path === "/v1/admin" || path.startsWith("/v1/admin/");
}

/**
 * The admin API at /v1/admin/… (docs/console.md): the same bearer tokens as /mcp, admitted only
 * with the admin permissions (admin:read, admin:write) of the caller's roles. A request without a
 * valid token is refused here as on /v1/jobs (audited, 401); the routes, their schemas (zod) and
 * the services behind them load with the first authenticated request: an idle gateway does without.
 */
export function createAdminApi(options: AdminApiOptions): (request: Request, path: string) => Promise<Response> {
  let router: Promise<Awaited<ReturnType<typeof loadRouter>>> | undefined;
  async function loadRouter() {
    const { createAdminRouter } = await import("./admin-router.ts");
    return createAdminRouter(options);
  }
  return async (request, path) => {
    const auth = await options.authenticator.authenticate(request);
    if (!auth.ok) return refuseUnauthenticatedApi(options, request, path, auth.failure);
    router ??= loadRouter();
    return (await router)(request, path, auth.principal, () => options.authenticator.stillValid(auth.authInfo));
  };
}
