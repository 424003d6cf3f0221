import type { ClientCapabilities, Implementation, JSONRPCMessage, JSONRPCRequest, LoggingLevel } from "@modelcontextprotocol/sdk/types.js";
import { LATEST_PROTOCOL_VERSION, LoggingLevelSchema, SUPPORTED_PROTOCOL_VERSIONS } from "../protocol/mcp-values.ts";
import { type ParamHeader, paramValue } from "../backends/param-headers.ts";
import { META, MIRRORED_NAME_FIELD, MODERN_VERSION, ModernErrorCode } from "../protocol/modern.ts";
import { GatewayErrorCode } from "../protocol/gateway-errors.ts";

/**
 * MCP 2026-07-28 on HTTP: no session, every request carries its version and capabilities in
 * `_meta`, and the headers `MCP-Protocol-Version`, `Mcp-Method` and (for calls) `Mcp-Name`
 * mirror the body so that intermediaries may route and limit on them. This module decides
 * whether a POST is such a request and checks it; the spec's own codes and statuses apply.
 */

/** The stateless revisions the gateway serves. */
export const MODERN_VERSIONS: readonly string[] = [MODERN_VERSION];
/** Every version the gateway speaks: the modern ones statelessly, the others on an initialize session. */
export const ALL_VERSIONS: readonly string[] = [...MODERN_VERSIONS, ...SUPPORTED_PROTOCOL_VERSIONS.filter((v) => v <= LATEST_PROTOCOL_VERSION)];

/** What a checked modern request says about its client. */
export interface ModernRequest {
  message: JSONRPCRequest;
  /** The request's `params._meta` (a modern request always has one: it names the version). */
  meta: Record<string, unknown>;
  version: string;
  capabilities: ClientCapabilities;
  clientInfo?: Implementation;
  logLevel?: LoggingLevel;
}

export interface ModernRefusal {
  status: number;
  code: number;
  message: string;
  data?: unknown;
}

type Meta = Record<string, unknown>;

function metaOf(message: JSONRPCMessage): Meta | undefined {
  const params = (message as { params?: { _meta?: unknown } }).params;
  const meta = params?._meta;
  return typeof meta === "object" && meta !== null && !Array.isArray(meta) ? (meta as Meta) : undefined;
}

/**
 * Whether a POST is a 2026-07-28 request: its `_meta` names a protocol version, or (with no
 * session and no initialize) its MCP-Protocol-Version header is a modern one. Everything else is
 * the 2025-era protocol, unchanged.
 */
export function isModern(message: JSONRPCMessage, headers: Headers): boolean {
  // A 2025 client's initialize names its version in params, never in _meta; one that does is a
  // modern client calling a method its revision removed.
  if (metaOf(message)?.[META.protocolVersion] !== undefined) return true;
  if ((message as { method?: unknown }).method === "initialize") return false;
  const header = headers.get("mcp-protocol-version");
  return header !== null && !headers.has("mcp-session-id") && MODERN_VERSIONS.includes(header.trim());
}

/** Whether a GET or DELETE names a modern version (405: a modern endpoint is POST only). */
export function isModernStreamRequest(headers: Headers): boolean {
  const header = headers.get("mcp-protocol-version");
  return header !== null && !headers.has("mcp-session-id") && MODERN_VERSIONS.includes(header.trim());
}

const ENCODED = /^=\?base64\?([A-Za-z0-9+/]*={0,2})\?=$/;

/**
 * A header value as the body holds it: `=?base64?…?=` is decoded (exactly that lower-case prefix
 * and suffix; a value without either is literal); undefined when the base64 between them is malformed.
 */
export function decodeHeaderValue(value: string): string | undefined {
  const trimmed = value.trim();
  if (!trimmed.startsWith("=?base64?") || !trimmed.endsWith("?=") || trimmed.length < "=?base64??=".length) return trimmed;
  const encoded = ENCODED.exec(trimmed)?.[1];
  if (encoded === undefined || encoded.length % 4 !== 0) return undefined;
  return Buffer.from(encoded, "base64").toString("utf8");
}

function mismatch(message: string): ModernRefusal {
  return { status: 400, code: ModernErrorCode.HeaderMismatch, message: `Header mismatch: ${message}` };
}

/**
 * Checks a modern request's `_meta` and headers (2026-07-28 basic/index and
 * transports/streamable-http, "Server Validation"), in the order a client can act on: the
 * version first (the answer lists what is supported), then the required `_meta`, then the
 * headers against the body.
 */
export function checkModernRequest(message: JSONRPCRequest, headers: Headers): ModernRequest | ModernRefusal {
  const meta = metaOf(message) ?? {};
  const bodyVersion = meta[META.protocolVersion];
  const headerVersion = headers.get("mcp-protocol-version")?.trim();
  // A header that disagrees with the body is a mismatch whatever either says (spec: header first).
  if (headerVersion !== undefined && typeof bodyVersion === "string" && headerVersion !== bodyVersion) {
    return mismatch(`MCP-Protocol-Version header value '${headerVersion}' does not match body value '${bodyVersion}'`);
  }
  const requested = typeof bodyVersion === "string" ? bodyVersion : headerVersion;
  if (requested !== undefined && !MODERN_VERSIONS.includes(requested)) {
    return {
      status: 400,
      code: ModernErrorCode.UnsupportedProtocolVersion,
      message: `Unsupported protocol version: ${requested} (supported: ${ALL_VERSIONS.join(", ")}; versions before ${MODERN_VERSIONS[0]} need an initialize session)`,
      data: { supported: [...ALL_VERSIONS], requested },
    };
  }
  if (typeof bodyVersion !== "string")
    return { status: 400, code: GatewayErrorCode.InvalidParams, message: `Invalid params: _meta["${META.protocolVersion}"] is required` };
  const capabilities = meta[META.clientCapabilities];
  if (typeof capabilities !== "object" || capabilities === null || Array.isArray(capabilities)) {
    return { status: 400, code: GatewayErrorCode.InvalidParams, message: `Invalid params: _meta["${META.clientCapabilities}"] must be an object` };
  }
  const level = meta[META.logLevel];
  if (level !== undefined && !LoggingLevelSchema.safeParse(level).success) {
    return {
      status: 400,
      code: GatewayErrorCode.InvalidParams,
      message: `Invalid params: _meta["${META.logLevel}"] "${String(level)}" is not a logging level (${LoggingLevelSchema.options.join(", ")})`,
    };
  }
  if (headerVersion === undefined) return mismatch("the MCP-Protocol-Version header is required");
  const method = headers.get("mcp-method")?.trim();
  if (method === undefined) return mismatch("the Mcp-Method header is required");
  if (method !== message.method) return mismatch(`Mcp-Method header value '${method}' does not match body value '${message.method}'`);
  const field = MIRRORED_NAME_FIELD[message.method];
  if (field !== undefined) {
    const header = headers.get("mcp-name");
    const bodyValue = (message.params as Record<string, unknown> | undefined)?.[field];
    if (header === null) return mismatch(`the Mcp-Name header is required for ${message.method}`);
    const name = decodeHeaderValue(header);
    if (name === undefined) return mismatch(`Mcp-Name header value '${header}' is not valid base64 between =?base64? and ?=`);
    if (name !== bodyValue) return mismatch(`Mcp-Name header value '${name}' does not match body value '${String(bodyValue)}'`);
  }
  const info = meta[META.clientInfo] as Implementation | undefined;
  // Built with every key, undefined or not: one object shape for every request (this runs per call).
  return {
    message,
    meta,
    version: bodyVersion,
    capabilities: capabilities as ClientCapabilities,
    clientInfo: info && typeof info === "object" && typeof info.name === "string" ? info : undefined,
    logLevel: level as LoggingLevel | undefined,
  };
}

/**
 * Checks the Mcp-Param-* headers of a tools/call against the arguments the tool marks
 * x-mcp-header (streamable-http, "Server Validation"): a marked argument with a value needs its
 * header, a header needs its argument, and the header (decoded) must equal the value; an integer
 * compares as a number. Undefined when they agree.
 */
export function paramHeaderMismatch(annotations: readonly ParamHeader[], args: unknown, headers: Headers): ModernRefusal | undefined {
  for (const annotation of annotations) {
    const value = paramValue(annotation, args);
    const header = headers.get(`mcp-param-${annotation.name}`);
    if (header === null) {
      if (value !== undefined)
        return mismatch(`the Mcp-Param-${annotation.name} header is required: the tool mirrors argument '${annotation.path.join(".")}' in it`);
      continue;
    }
    const decoded = decodeHeaderValue(header);
    if (decoded === undefined) return mismatch(`Mcp-Param-${annotation.name} header value '${header}' is not valid base64 between =?base64? and ?=`);
    if (value === undefined) return mismatch(`Mcp-Param-${annotation.name} header is set but argument '${annotation.path.join(".")}' is absent`);
    const same = decoded === value || (/^-?\d+$/.test(value) && Number(decoded) === Number(value));
    if (!same) return mismatch(`Mcp-Param-${annotation.name} header value '${decoded}' does not match body value '${value}'`);
  }
  return undefined;
}
