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
  // Optional fields assigned, not spread: every call builds one, and spreads cost more.
  const context: AuditContext = {
    requestId: String(extra.requestId),
    protocolVersion: session.protocolVersion,
    subject: principal.subject,
    roles: principal.anonymous ? principal.roles : [...roles],
    method: request.method,
    arguments: request.method === "tools/call" ? params?.arguments : request.params,
  };
  if (session.id !== "") context.sessionId = session.id;
  if (session.clientInfo) {
    context.clientName = session.clientInfo.name;
    context.clientVersion = session.clientInfo.version;
  }
  if (plan?.backend !== undefined) context.backend = plan.backend;
  if (plan?.target !== undefined) context.target = plan.target;
  return context;
}
