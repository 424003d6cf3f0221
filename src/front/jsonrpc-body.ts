import type { JSONRPCMessage, JSONRPCNotification, JSONRPCRequest } from "@modelcontextprotocol/sdk/types.js";
import { BUDGET_HINTS, type JsonBudget, exceedsJsonBudget } from "../json/json-budget.ts";
import { type BodyLimits, readBodyText } from "../http/body-reader.ts";
import { GatewayErrorCode, jsonRpcErrorBody } from "../protocol/gateway-errors.ts";

/** A refused body: the response to send, and what the audit record says about it. */
export interface RefusedBody {
  ok: false;
  response: Response;
  code: number;
  reason: string;
  /** The message's method and id, when they could be read (an audit record names the method). */
  method?: string;
  id?: string | number;
}

export type BodyResult = { ok: true; message: JSONRPCMessage } | RefusedBody;

function refuse(
  status: number,
  code: number,
  reason: string,
  headers: Record<string, string> = {},
  seen: { method?: string; id?: string | number } = {},
): RefusedBody {
  const response = Response.json(jsonRpcErrorBody(code, reason, seen.id ?? null), { status, headers });
  return { ok: false, response, code, reason, ...seen };
}

/**
 * Reads one JSON-RPC message from a POST body (src/http/body-reader.ts: 413 past the size bound, 408 past
 * the time bound). A body that would cost far
 * more than its size (see json-budget.ts) is refused before it is parsed. Batches (arrays) were
 * removed from MCP in 2025-06-18 and are refused here, before the SDK transport (which still
 * accepts them) sees the body.
 */
export async function readJsonRpcBody(request: Request, limits: BodyLimits, budget: JsonBudget): Promise<BodyResult> {
  const body = await readBodyText(request, limits);
  if (typeof body !== "string")
    return refuse(body.status, GatewayErrorCode.InvalidRequest, body.reason, body.status === 413 && body.declared ? {} : { connection: "close" });
  const text = body;
  const excess = exceedsJsonBudget(text, budget);
  if (excess) {
    const { bound, problem, ...seen } = excess;
    return refuse(400, GatewayErrorCode.InvalidRequest, `Invalid Request: ${problem}${BUDGET_HINTS[bound]}`, {}, seen);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return refuse(400, GatewayErrorCode.ParseError, `Parse error: the body is not JSON (${(err as Error).message})`);
  }
  if (Array.isArray(parsed)) {
    return refuse(400, GatewayErrorCode.InvalidRequest, "Invalid Request: JSON-RPC batches are not supported since MCP 2025-06-18; send one message per POST");
  }
  const problem = jsonRpcProblem(parsed);
  if (problem) return refuse(400, GatewayErrorCode.InvalidRequest, `Invalid Request: ${problem}`, {}, seenIn(parsed));
  return { ok: true, message: parsed as JSONRPCMessage };
}

/** The method and id of a parsed message that is not valid JSON-RPC, where they have the right types. */
function seenIn(value: unknown): { method?: string; id?: string | number } {
  if (typeof value !== "object" || value === null) return {};
  const { method, id } = value as { method?: unknown; id?: unknown };
  return { ...(typeof method === "string" && { method: method.slice(0, 200) }), ...((typeof id === "string" || typeof id === "number") && { id }) };
}

function jsonRpcProblem(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return "the message must be a JSON object";
  const message = value as Record<string, unknown>;
  if (message.jsonrpc !== "2.0") return 'the message must have "jsonrpc": "2.0"';
  const hasId = "id" in message;
  if (hasId && typeof message.id !== "string" && typeof message.id !== "number") return '"id" must be a string or a number';
  if ("method" in message) {
    if (typeof message.method !== "string" || message.method === "") return '"method" must be a non-empty string';
    if ("params" in message && (typeof message.params !== "object" || message.params === null || Array.isArray(message.params))) {
      return '"params" must be an object';
    }
    return undefined;
  }
  if (hasId && ("result" in message || "error" in message)) return undefined;
  return 'the message is neither a request, a notification nor a response (no "method", no "result" or "error")';
}

/** A request (has an id and a method). The message was validated by readJsonRpcBody, so the shape is enough. */
export function isRequestMessage(message: JSONRPCMessage): message is JSONRPCRequest {
  return "method" in message && "id" in message;
}

/** A notification (a method, no id). */
export function isNotificationMessage(message: JSONRPCMessage): message is JSONRPCNotification {
  return "method" in message && !("id" in message);
}
