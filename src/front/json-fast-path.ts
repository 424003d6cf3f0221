import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import type { JSONRPCRequest } from "@modelcontextprotocol/sdk/types.js";
import { ErrorCode } from "../protocol/mcp-values.ts";
import { BackendPool } from "../backends/backend-pool.ts";
import { Refusal } from "../pipeline/refusal.ts";
import type { ClientRequestExtra, FrontSession } from "./front-session.ts";
import { plainMessage } from "../protocol/gateway-errors.ts";
import { unsupportedVersionResponse } from "./protocol-version-header.ts";

/**
 * The hot path. A request answered as plain JSON instead of through the SDK transport's
 * per-request SSE stream, which the benchmark showed to cost most of a relayed call. Allowed
 * only where nothing but the response can belong on that stream: no progress token, no task,
 * and a client without sampling/elicitation/roots (whose backends share connections and never
 * start requests for it). Everything else takes the SDK path unchanged.
 */
export function canAnswerAsJson(session: FrontSession, message: JSONRPCRequest): boolean {
  const params = message.params as { _meta?: { progressToken?: unknown }; task?: unknown } | undefined;
  return (
    message.method !== "initialize" &&
    params?._meta?.progressToken === undefined &&
    params?.task === undefined &&
    !BackendPool.needsDedicated(session.clientCapabilities)
  );
}

const JSON_HEADERS = { "content-type": "application/json" };

async function sendNothing(): Promise<void> {}

async function refuseRequest(): Promise<never> {
  throw new Error("no server-to-client request is possible on a JSON-answered call");
}

/**
 * Runs the request through the pipeline and answers it with a JSON body. `authInfo` is what the
 * front's authentication proved for this HTTP request, handed to the pipeline as the SDK would.
 */
export async function answerAsJson(session: FrontSession, message: JSONRPCRequest, request: Request, authInfo: AuthInfo): Promise<Response> {
  const unsupported = unsupportedVersionResponse(request);
  if (unsupported) return unsupported;
  if (message.method === "ping") return new Response(JSON.stringify({ jsonrpc: "2.0", id: message.id, result: {} }), { headers: JSON_HEADERS });
  const controller = session.trackDirect(message.id);
  const extra = {
    signal: controller.signal,
    requestId: message.id,
    sessionId: session.id,
    authInfo,
    _meta: (message.params as { _meta?: Record<string, unknown> } | undefined)?._meta,
    // Nothing may be sent for this request but its response (see canAnswerAsJson).
    sendNotification: sendNothing,
    sendRequest: refuseRequest,
  } as unknown as ClientRequestExtra;
  let body: unknown;
  let headers: Record<string, string> = JSON_HEADERS;
  try {
    const result = await session.pipeline(session, message.params ? { method: message.method, params: message.params } : { method: message.method }, extra);
    body = { jsonrpc: "2.0", id: message.id, result };
  } catch (err) {
    if (err instanceof Refusal && err.status === "rate_limited") headers = { ...JSON_HEADERS, ...rateLimitHeaders(err.data as RateLimitData) };
    const error = err as { code?: unknown; message?: string; data?: unknown };
    body = {
      jsonrpc: "2.0",
      id: message.id,
      error: {
        code: Number.isSafeInteger(error.code) ? error.code : ErrorCode.InternalError,
        message: plainMessage(err),
        ...(error.data !== undefined && { data: error.data }),
      },
    };
  } finally {
    session.untrackDirect(message.id, controller);
  }
  return new Response(JSON.stringify(body), { headers });
}

interface RateLimitData {
  retryAfterMs: number;
  limit: number;
  periodMs: number;
}

/**
 * Retry-After (RFC 9110) and the IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers),
 * for clients that read HTTP rather than the JSON-RPC error's data.
 */
export function rateLimitHeaders(data: RateLimitData): Record<string, string> {
  const reset = Math.max(1, Math.ceil(data.retryAfterMs / 1_000));
  return {
    "retry-after": String(reset),
    "ratelimit-policy": `${data.limit};w=${Math.round(data.periodMs / 1_000)}`,
    ratelimit: `limit=${data.limit}, remaining=0, reset=${reset}`,
  };
}
