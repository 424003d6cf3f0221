import { jsonRpcErrorBody } from "../front/gateway-errors.ts";
import type { AuthFailure } from "./auth-failure.ts";

/**
 * JSON-RPC error code of an unauthenticated request, in the implementation-defined range. The
 * HTTP status and WWW-Authenticate header are what clients act on; this only fills the body.
 */
export const UNAUTHENTICATED_CODE = -32001;

/**
 * The refusal of an unauthenticated request, per MCP 2025-11-25 basic/authorization
 * ("Protected Resource Metadata Discovery Requirements", "Error Handling"), RFC 9728 §5.1 and
 * RFC 6750 §3: 401 with `WWW-Authenticate: Bearer resource_metadata="…"`, plus
 * `error="invalid_token"` and an `error_description` when a token was sent but is bad (a request
 * with no token gets no error code, RFC 6750 §3.1). An unreachable identity provider is 503.
 */
export function unauthorizedResponse(failure: AuthFailure, resourceMetadataUrl: string): Response {
  const body = jsonRpcErrorBody(UNAUTHENTICATED_CODE, `Unauthorized: ${failure.message}`);
  if (failure.status === 503) {
    return Response.json(body, { status: 503, headers: { "retry-after": "5", "cache-control": "no-store" } });
  }
  const params = [`resource_metadata="${quotable(resourceMetadataUrl)}"`];
  if (failure.reason !== "missing_token") params.push('error="invalid_token"', `error_description="${quotable(failure.message)}"`);
  return Response.json(body, { status: 401, headers: { "www-authenticate": `Bearer ${params.join(", ")}`, "cache-control": "no-store" } });
}

/** RFC 6750 §3: error_description is %x20-21 / %x23-5B / %x5D-7E — printable ASCII without `"` and `\`. */
function quotable(text: string): string {
  return text.replaceAll('"', "'").replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, "?");
}
