/**
 * `x-mcp-header` (MCP 2026-07-28, transports/streamable-http): a tool's input schema may mark a
 * string, integer or boolean argument, reachable through `properties` alone, with a header name;
 * on HTTP the argument's value then travels as `Mcp-Param-{Name}` too, and a server rejects a
 * request whose header disagrees with its body (400, -32020). The gateway checks what clients send
 * (front/modern-request.ts) and sends what 2026-07-28 HTTP backends expect
 * (modern-http-transport.ts), from each backend's tool definitions (backend-connection.ts).
 */
export interface ParamHeader {
  /** The header's name after `Mcp-Param-`, as the schema gives it. */
  name: string;
  /** The argument's path through nested objects' properties. */
  path: string[];
}

/** RFC 9110 token characters: what a header name may hold. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const MAX_DEPTH = 16;

/** The annotated arguments of a tool's input schema (none when it has none, or the schema is not an object). */
export function paramHeadersOf(inputSchema: unknown): ParamHeader[] {
  const found: ParamHeader[] = [];
  const walk = (schema: unknown, path: string[]) => {
    if (typeof schema !== "object" || schema === null || path.length > MAX_DEPTH) return;
    const { properties } = schema as { properties?: unknown };
    if (typeof properties !== "object" || properties === null) return;
    for (const [key, property] of Object.entries(properties as Record<string, unknown>)) {
      if (typeof property !== "object" || property === null) continue;
      const { type } = property as { type?: unknown };
      const name = (property as Record<string, unknown>)["x-mcp-header"];
      if (typeof name === "string" && TOKEN.test(name) && (type === "string" || type === "integer" || type === "boolean"))
        found.push({ name, path: [...path, key] });
      else walk(property, [...path, key]);
    }
  };
  walk(inputSchema, []);
  return found;
}

/** The value an annotated argument has in `args`, as its header carries it before encoding; undefined when absent or null. */
export function paramValue(header: ParamHeader, args: unknown): string | undefined {
  let value: unknown = args;
  for (const key of header.path) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  if (typeof value === "string") return value;
  if (typeof value === "boolean" || (typeof value === "number" && Number.isInteger(value))) return String(value);
  return undefined;
}

/**
 * Per-request header values, attached to a request's params under a symbol: JSON never carries
 * it, spreads of the params keep it, and the HTTP transport that sends the request reads it. The
 * request's path from the connection to the transport (ids, progress, the 2026-07-28 envelope)
 * copies params but has no other channel for headers.
 */
export const PARAM_HEADERS: unique symbol = Symbol.for("mcpgw.param-headers");

export function withParamHeaders<T extends Record<string, unknown>>(params: T, headers: Record<string, string>): T {
  return Object.keys(headers).length === 0 ? params : { ...params, [PARAM_HEADERS]: headers };
}

export function paramHeadersIn(params: unknown): Record<string, string> | undefined {
  return typeof params === "object" && params !== null ? ((params as Record<symbol, unknown>)[PARAM_HEADERS] as Record<string, string> | undefined) : undefined;
}
