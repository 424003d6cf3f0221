import { jsonRpcErrorBody } from "../protocol/gateway-errors.ts";
import type { AuthFailure } from "./auth-failure.ts";
import type { AuthGuidance } from "./well-known.ts";

/**
 * JSON-RPC error code of an unauthenticated request, in the implementation-defined range. The
 * HTTP status and WWW-Authenticate header are what clients act on; this only fills the body.
 */
export const UNAUTHENTICATED_CODE = -32001;

/**
 * The refusal of an unauthenticated request, per MCP 2025-11-25 basic/authorization
 * ("Protected Resource Metadata Discovery Requirements", "Error Handling"), RFC 9728 §5.1 and
 * RFC 6750 §3: 401 with `WWW-Authenticate: Bearer resource_metadata="…"` when there is an
 * authorization server to find, plus `error="invalid_token"` when a token was sent but is bad (a
 * request with no token gets no error code, RFC 6750 §3.1). The `error_description` and the body
 * say what was wrong and how to get a token; without an authorization server the description is
 * there for a missing token too, as it is the only guidance such a client gets. An unreachable
 * identity provider is 503.
 */
export function unauthorizedResponse(failure: AuthFailure, guidance: AuthGuidance): Response {
  const description = `${failure.message}: ${guidance.howToGetToken}`;
  const body = jsonRpcErrorBody(UNAUTHENTICATED_CODE, `Unauthorized: ${failure.status === 503 ? failure.message : description}`);
  if (failure.status === 503) {
    return Response.json(body, { status: 503, headers: { "retry-after": "5", "cache-control": "no-store" } });
  }
  const params = ['realm="mcpgw"'];
  if (guidance.resourceMetadataUrl !== undefined) params.push(`resource_metadata="${quotable(guidance.resourceMetadataUrl)}"`);
  if (failure.reason !== "missing_token") params.push('error="invalid_token"');
  if (failure.reason !== "missing_token" || guidance.resourceMetadataUrl === undefined) params.push(`error_description="${quotable(description)}"`);
  return Response.json(body, { status: 401, headers: { "www-authenticate": `Bearer ${params.join(", ")}`, "cache-control": "no-store" } });
}

/** RFC 6750 §3: error_description is %x20-21 / %x23-5B / %x5D-7E — printable ASCII without `"` and `\`. */
function quotable(text: string): string {
  return text.replaceAll('"', "'").replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, "?");
}
