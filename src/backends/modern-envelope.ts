import type { ClientCapabilities, Implementation, Request, ServerCapabilities } from "@modelcontextprotocol/sdk/types.js";
import { currentTrace } from "../tracing/trace-propagation.ts";
import { META, MODERN_VERSION, ModernErrorCode } from "../protocol/modern.ts";

/**
 * MCP 2026-07-28 as the gateway speaks it to a backend: no initialize, no session; every request
 * carries the protocol version, the client's capabilities and identity in `params._meta`
 * (basic/index), and the server describes itself in the answer to `server/discover`.
 */

/** The modern revision the gateway speaks to backends. */
export const MODERN_PROTOCOL_VERSION = MODERN_VERSION;

/** The reserved `_meta` keys a backend request carries or a backend result may carry. */
export const ENVELOPE_KEYS = META;

/** UnsupportedProtocolVersionError: a modern server names the versions it does support in `data.supported`. */
export const UNSUPPORTED_PROTOCOL_VERSION = ModernErrorCode.UnsupportedProtocolVersion;

/** What every modern request says about the gateway as the backend's client. */
export interface Envelope {
  protocolVersion: string;
  clientCapabilities: ClientCapabilities;
  clientInfo: Implementation;
}

/**
 * The request with the envelope in `params._meta`. The caller's other `_meta` keys stay
 * (progressToken, logLevel, traceparent…); the three envelope keys are the gateway's, as it is
 * the backend's client. A request with no traceparent of its own gets the current call's trace
 * context: on 2026-07-28 it travels in `_meta` (over stdio there is nowhere else for it).
 */
export function withEnvelope(request: Request, envelope: Envelope): Request {
  const params = request.params as (Record<string, unknown> & { _meta?: Record<string, unknown> }) | undefined;
  const meta: Record<string, unknown> = { ...params?._meta };
  if (meta.traceparent === undefined) {
    const trace = currentTrace();
    if (trace) {
      meta.traceparent = trace.traceparent;
      if (trace.tracestate !== undefined) meta.tracestate = trace.tracestate;
    }
  }
  meta[ENVELOPE_KEYS.protocolVersion] = envelope.protocolVersion;
  meta[ENVELOPE_KEYS.clientCapabilities] = envelope.clientCapabilities;
  meta[ENVELOPE_KEYS.clientInfo] = envelope.clientInfo;
  return { method: request.method, params: { ...params, _meta: meta } };
}

/** What `server/discover` told about a modern backend. */
export interface Discovered {
  capabilities: ServerCapabilities;
  serverInfo: Implementation | undefined;
  instructions: string | undefined;
  supportedVersions: string[];
}

/** Reads a DiscoverResult (server/discover); undefined when `result` is not one. */
export function readDiscoverResult(result: unknown): Discovered | undefined {
  const discovered = result as { supportedVersions?: unknown; capabilities?: unknown; instructions?: unknown; _meta?: Record<string, unknown> } | null;
  if (typeof discovered !== "object" || discovered === null || !Array.isArray(discovered.supportedVersions) || !isObject(discovered.capabilities))
    return undefined;
  const serverInfo = discovered._meta?.[ENVELOPE_KEYS.serverInfo] as Implementation | undefined;
  return {
    capabilities: discovered.capabilities as ServerCapabilities,
    serverInfo: isObject(serverInfo) && typeof serverInfo.name === "string" ? serverInfo : undefined,
    instructions: typeof discovered.instructions === "string" ? discovered.instructions : undefined,
    supportedVersions: discovered.supportedVersions.filter((v): v is string => typeof v === "string"),
  };
}

/**
 * Whether a JSON-RPC error is a modern server's UnsupportedProtocolVersionError that offers the
 * revision the gateway speaks: the one error besides a DiscoverResult that identifies a modern
 * backend (basic/versioning: anything else means a 2025-era one).
 */
export function isModernVersionError(error: { code?: unknown; data?: unknown } | undefined): boolean {
  if (error?.code !== UNSUPPORTED_PROTOCOL_VERSION) return false;
  const supported = (error.data as { supported?: unknown } | undefined)?.supported;
  return Array.isArray(supported) && supported.includes(MODERN_PROTOCOL_VERSION);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
