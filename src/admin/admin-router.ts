import type { z } from "zod";
import type { Auditor } from "../audit/auditor.ts";
import type { Principal } from "../auth/principal.ts";
import { ConflictError, McpgwError, NotFoundError, describeError } from "../errors.ts";
import { readBodyText } from "../http/body-reader.ts";
import { BUDGET_HINTS, type JsonBudget, exceedsJsonBudget } from "../json/json-budget.ts";
import type { Logger } from "../log/logger.ts";
import { ADMIN_BACKEND } from "../policy/permission.ts";
import type { Policy } from "../policy/policy.ts";
import { ACCESS_ROUTES } from "./access-routes.ts";
import { ADMIN_CLIENT_NAME, type AdminRoute, type AdminServices } from "./admin-route.ts";
import { AUDIT_ROUTES, LIMIT_ROUTES } from "./audit-limit-routes.ts";
import { BACKEND_ROUTES } from "./backend-routes.ts";
import { BACKEND_STATUS_ROUTES, JOB_ADMIN_ROUTES, SESSION_ROUTES } from "./ops-routes.ts";
import { LIVE_ROUTES } from "./live-routes.ts";

/**
 * Every route of the admin API, in the order of the brief's priorities: access, backends, audit,
 * limits, then the live views (calls, stats, policy checker, limit usage). The router serves
 * exactly these and /openapi.json describes exactly these.
 */
export const ADMIN_ROUTES: readonly AdminRoute[] = [
  ...ACCESS_ROUTES,
  // Before the backends' {name} routes: /v1/admin/backends/status is the status, not a backend named "status".
  ...BACKEND_STATUS_ROUTES,
  ...BACKEND_ROUTES,
  ...AUDIT_ROUTES,
  ...LIMIT_ROUTES,
  ...SESSION_ROUTES,
  ...JOB_ADMIN_ROUTES,
  ...LIVE_ROUTES,
];

export { ADMIN_CLIENT_NAME };

export interface AdminRouterOptions {
  services: AdminServices;
  /** The policy in force (recompiled when roles change): decides the admin permissions. */
  policy: { readonly current: Policy };
  auditor: Auditor;
  maxBodyBytes: number;
  bodyTimeoutMs: number;
  /** Nesting and element bounds checked before a body is parsed, as on /mcp and /v1/jobs. */
  jsonBudget: JsonBudget;
  logger: Logger;
}

interface CompiledRoute {
  route: AdminRoute;
  pattern: RegExp;
  names: string[];
}

/** An error answer, as the jobs API writes them ({error, hint}), with the field at fault for a 400. */
function problem(status: number, error: string, hint?: string, extra: { field?: string; headers?: Record<string, string> } = {}): Response {
  return Response.json(
    { error, ...(hint !== undefined && { hint }), ...(extra.field !== undefined && { field: extra.field }) },
    { status, headers: { "cache-control": "no-store", ...extra.headers } },
  );
}

/** `allow.1` → `allow[1]`: fields named as an operator reads them. */
function fieldOf(path: readonly PropertyKey[]): string | undefined {
  if (path.length === 0) return undefined;
  return path.map((part, i) => (typeof part === "number" ? `[${part}]` : `${i > 0 ? "." : ""}${String(part)}`)).join("");
}

/** The first zod issue as a 400 naming its field. */
function invalid(what: string, error: z.ZodError, hint: string): Response {
  const issue = error.issues[0]!;
  const keys = issue.code === "unrecognized_keys" ? (issue as { keys: string[] }).keys : [];
  const field = keys[0] ?? fieldOf(issue.path);
  return problem(400, `invalid ${what}: ${field ? `${field}: ` : ""}${issue.message}`, hint, { ...(field !== undefined && { field }) });
}

/**
 * The admin API after authentication: finds the route, checks the caller's admin permission
 * (refusals audited as denied), reads and validates the body and query, runs the handler, and
 * maps the services' errors to statuses (usage 400 with the field, not found 404, conflict 409,
 * any other refusal of the service 422).
 */
export function createAdminRouter(
  options: AdminRouterOptions,
): (request: Request, path: string, principal: Principal, tokenStillValid: () => boolean) => Promise<Response> {
  const compiled: CompiledRoute[] = ADMIN_ROUTES.map((route) => {
    const names: string[] = [];
    const source = route.path.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{([^}]+)\}/g, (_, name: string) => {
      names.push(name);
      return "([^/]+)";
    });
    return { route, pattern: new RegExp(`^${source}$`), names };
  });

  function match(method: string, path: string): { route: AdminRoute; params: Record<string, string> } | { allowed: string[] } | undefined {
    const allowed: string[] = [];
    for (const { route, pattern, names } of compiled) {
      const found = pattern.exec(path);
      if (!found) continue;
      if (route.method.toUpperCase() !== method) {
        allowed.push(route.method.toUpperCase());
        continue;
      }
      const params: Record<string, string> = {};
      try {
        names.forEach((name, i) => {
          params[name] = decodeURIComponent(found[i + 1]!);
        });
      } catch {
        // A malformed %-escape names nothing there is.
        return undefined;
      }
      return { route, params };
    }
    return allowed.length > 0 ? { allowed } : undefined;
  }

  async function refuse(principal: Principal, route: AdminRoute, roles: string[], rule: string): Promise<Response> {
    const needed = `admin:${route.permission}`;
    const where = `${route.method.toUpperCase()} ${route.path}`;
    await options.auditor
      .refuse(
        { subject: principal.subject, roles, clientName: ADMIN_CLIENT_NAME, method: `admin/${route.action}` },
        { status: "denied", errorCode: 403, errorMessage: `${where} needs ${needed}`, decision: "denied", rule },
      )
      .catch((err) => options.logger.error({ err: describeError(err) }, "refused admin request not audited"));
    return problem(
      403,
      `"${principal.subject}" may not use ${where}: it needs the admin permission ${needed} (${rule})`,
      `an operator grants it with a role that allows it: mcpgw role create operators --allow '${needed}' (or 'admin:*'), then mcpgw role grant operators ${principal.subject}`,
    );
  }

  async function readBody(request: Request, route: AdminRoute): Promise<{ body: unknown } | Response> {
    if (!route.body) return { body: undefined };
    const text = await readBodyText(request, { maxBytes: options.maxBodyBytes, timeoutMs: options.bodyTimeoutMs });
    if (typeof text !== "string") {
      return problem(
        text.status,
        text.status === 413 ? `the request body exceeds ${options.maxBodyBytes} bytes` : text.reason,
        "send a smaller body, at once",
        {
          headers: { connection: "close" },
        },
      );
    }
    const excess = exceedsJsonBudget(text, options.jsonBudget);
    if (excess) return problem(400, `the body is refused: ${excess.problem}${BUDGET_HINTS[excess.bound]}`, "send a simpler body");
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      return problem(400, `the body is not JSON (${(err as Error).message})`, "send a JSON object with content-type application/json");
    }
    const parsed = route.body.safeParse(json);
    if (!parsed.success) return invalid("body", parsed.error, `see ${route.method.toUpperCase()} ${route.path} in /openapi.json`);
    return { body: parsed.data };
  }

  return async (request, path, principal, tokenStillValid) => {
    const found = match(request.method, path);
    if (!found) return problem(404, `no admin route at ${path}`, "the admin routes are listed in /openapi.json (tag admin)");
    if ("allowed" in found) {
      return problem(405, `${request.method} is not allowed on ${path}`, `use ${found.allowed.join(" or ")}`, { headers: { allow: found.allowed.join(", ") } });
    }
    const { route, params } = found;
    const policy = options.policy.current;
    const roles = policy.rolesOf(principal.subject, principal.roles);
    // With MCPGW_AUTH=off there is no identity and no policy (development only): the admin API is open like /mcp.
    const decision = principal.anonymous
      ? { allowed: true, rule: "authentication off" }
      : policy.decide(roles, { kind: "admin", backend: ADMIN_BACKEND, name: route.permission });
    if (!decision.allowed) return refuse(principal, route, roles, decision.rule);

    const read = await readBody(request, route);
    if (read instanceof Response) return read;
    let query: unknown;
    if (route.query) {
      const parsed = route.query.safeParse(Object.fromEntries(new URL(request.url).searchParams));
      if (!parsed.success) return invalid("query", parsed.error, `see ${route.method.toUpperCase()} ${route.path} in /openapi.json`);
      query = parsed.data;
    }
    try {
      const answer = await route.handle({
        principal,
        params,
        body: read.body,
        query,
        services: options.services,
        signal: request.signal,
        stillAllowed: () => {
          if (!tokenStillValid()) return false;
          if (principal.anonymous) return true;
          const now = options.policy.current;
          return now.decide(now.rolesOf(principal.subject, principal.roles), { kind: "admin", backend: ADMIN_BACKEND, name: route.permission }).allowed;
        },
        recordChange: (change) =>
          options.auditor.record(
            {
              subject: principal.subject,
              roles,
              clientName: ADMIN_CLIENT_NAME,
              method: `admin/${route.action}`,
              target: change.target,
              ...(change.backend !== undefined && { backend: change.backend }),
              arguments: { before: change.before, after: change.after },
              ...(request.headers.get("x-request-id") && { requestId: request.headers.get("x-request-id")! }),
            },
            { status: "ok", decision: "allowed", rule: decision.rule },
          ),
      });
      if ("response" in answer) return answer.response;
      return Response.json(answer.body, { status: answer.status ?? 200, headers: { "cache-control": "no-store" } });
    } catch (err) {
      return errorAnswer(err, route, options.logger);
    }
  };
}

function errorAnswer(err: unknown, route: AdminRoute, logger: Logger): Response {
  if (!(err instanceof McpgwError)) {
    logger.error({ err: describeError(err), route: `${route.method.toUpperCase()} ${route.path}` }, "admin request failed");
    return problem(500, "internal error", "the gateway's log has the details");
  }
  const status = err.exitCode === 2 ? 400 : err instanceof NotFoundError ? 404 : err instanceof ConflictError ? 409 : 422;
  return problem(status, err.message, err.hint, { ...(status === 400 && err.field !== undefined && { field: err.field }) });
}
