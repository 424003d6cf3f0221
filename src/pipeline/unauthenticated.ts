import type { AuditContext } from "../audit/auditor.ts";
import type { UnauthenticatedFloodGuard } from "../audit/unauthenticated-flood.ts";
import type { AuthFailure } from "../auth/auth-failure.ts";
import { UNAUTHENTICATED_CODE, unauthorizedResponse } from "../auth/unauthorized-response.ts";
import type { AuthGuidance } from "../auth/well-known.ts";

/** What an entry point needs to turn away a caller without a valid token (the MCP front and the REST jobs API). */
export interface UnauthenticatedOptions {
  /** What a 401 tells the client (WWW-Authenticate and body). */
  authGuidance(request: Request): AuthGuidance;
  /** Bounds what callers without a valid token add to the audit log (and answers a flooding source 429). */
  floodGuard: UnauthenticatedFloodGuard;
  /** The address a request came from (the listener knows it), for the flood guard. */
  peerOf(request: Request): string | undefined;
}

/** How to answer: the RFC 6750 refusal, or "too many" past the flood guard's bound (each entry point words its 429). */
export type UnauthenticatedAnswer =
  | { kind: "refused"; source: string | undefined /** Audited one by one (else only counted). */; recorded: boolean; response: Response }
  | { kind: "limited"; source: string | undefined; retryAfterSec: number };

/**
 * The one handling of a request without a valid token, whichever way it came in: audited as
 * "unauthenticated" with the reason (through the flood guard, which bounds what such callers add to the
 * log), then refused with 401 (503 when the identity provider is unreachable), or limited past the bound.
 */
export async function refuseUnauthenticated(
  options: UnauthenticatedOptions,
  request: Request,
  failure: AuthFailure,
  context: AuditContext,
): Promise<UnauthenticatedAnswer> {
  const source = options.peerOf(request);
  const decision = await options.floodGuard.refuse(source, context, {
    status: "unauthenticated",
    errorCode: UNAUTHENTICATED_CODE,
    errorMessage: failure.message,
    decision: "unauthenticated",
    rule: failure.reason,
  });
  if (decision.kind === "limited") return { kind: "limited", source, retryAfterSec: decision.retryAfterSec };
  return { kind: "refused", source, recorded: decision.kind === "recorded", response: unauthorizedResponse(failure, options.authGuidance(request)) };
}

/**
 * The REST APIs' (/v1/jobs, /v1/admin) answer to a request without a valid token: audited as above,
 * then the status and WWW-Authenticate of the MCP refusal in an {error, hint} body, or 429 past the
 * flood guard's bound.
 */
export async function refuseUnauthenticatedApi(options: UnauthenticatedOptions, request: Request, path: string, failure: AuthFailure): Promise<Response> {
  const answer = await refuseUnauthenticated(options, request, failure, { method: `${request.method} ${path}` });
  const headers: Record<string, string> = { "cache-control": "no-store" };
  if (answer.kind === "limited") {
    return Response.json(
      { error: "too many requests without a valid token from this source", hint: `retry in ${answer.retryAfterSec} s with a valid token` },
      { status: 429, headers: { ...headers, "retry-after": String(answer.retryAfterSec) } },
    );
  }
  const rpc = answer.response;
  return Response.json(
    { error: `Unauthorized: ${failure.message}`, hint: 'send "Authorization: Bearer <token>" (mcpgw token issue)' },
    { status: rpc.status, headers: { ...headers, ...Object.fromEntries(rpc.headers) } },
  );
}
