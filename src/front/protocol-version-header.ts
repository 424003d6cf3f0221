import { SUPPORTED_PROTOCOL_VERSIONS } from "../protocol/mcp-values.ts";
import { GatewayErrorCode, jsonRpcErrorBody } from "../protocol/gateway-errors.ts";

/**
 * The check the SDK's Streamable HTTP transport makes of a session's requests, for those the front
 * answers itself: an MCP-Protocol-Version header, when sent, must name a version the gateway speaks (else 400).
 */
export function unsupportedVersionResponse(request: Request): Response | undefined {
  const version = request.headers.get("mcp-protocol-version");
  if (version === null || SUPPORTED_PROTOCOL_VERSIONS.includes(version)) return undefined;
  const message = `Bad Request: Unsupported protocol version: ${version} (supported versions: ${SUPPORTED_PROTOCOL_VERSIONS.join(", ")})`;
  return Response.json(jsonRpcErrorBody(GatewayErrorCode.InvalidRequest, message), { status: 400 });
}
