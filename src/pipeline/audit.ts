import type { Request } from "@modelcontextprotocol/sdk/types.js";
import type { AuditContext } from "../audit/auditor.ts";
import type { CallerSession, ClientRequestExtra } from "./caller-session.ts";
import type { Principal } from "../auth/principal.ts";
import type { RoutePlan } from "./route.ts";

/**
 * The audit context of one client request: who, with which roles (the token's and those granted to
 * the subject: what the policy decided by), through which session, to what.
 */
export function auditContext(
  session: CallerSession,
  principal: Principal,
  roles: readonly string[],
  request: Request,
  extra: ClientRequestExtra,
  plan?: RoutePlan,
): AuditContext {
  const params = request.params as { arguments?: unknown } | undefined;
  return {
    requestId: String(extra.requestId),
    ...(session.id !== "" && { sessionId: session.id }),
    protocolVersion: session.protocolVersion,
    subject: principal.subject,
    roles: principal.anonymous ? principal.roles : [...roles],
    ...(session.clientInfo && { clientName: session.clientInfo.name, clientVersion: session.clientInfo.version }),
    ...(plan?.backend !== undefined && { backend: plan.backend }),
    ...(plan?.target !== undefined && { target: plan.target }),
    method: request.method,
    arguments: request.method === "tools/call" ? params?.arguments : request.params,
  };
}
