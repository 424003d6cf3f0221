import type { RemoteServer } from "../../src/config/settings.ts";
import { formatDuration } from "../../src/config/duration.ts";
import { ConflictError, McpgwError, NotFoundError, UsageError, describeError } from "../../src/errors.ts";
import { VERSION } from "../version.ts";

/**
 * A small typed client of the admin API (/v1/admin/…, docs/console.md) for `mcpgw … --server URL`:
 * the bearer token, JSON both ways, a timeout per request, and the API's {error, hint} answers
 * turned back into the errors the database mode throws, so a refusal reads the same and exits
 * with the same code (400 → usage, exit 2; 404, 409, 422 → exit 1). What only a remote call can
 * meet (no gateway there, a bad token, a missing permission) gets its own message.
 */

/** The time a request may take unless the call says otherwise; testing a backend takes its own timeout and more. */
const DEFAULT_TIMEOUT_MS = 30_000;

export interface AdminRequestOptions {
  body?: unknown;
  query?: Record<string, string>;
  timeoutMs?: number;
}

export interface AdminClient {
  /** Sends one request; the answer's JSON on 2xx, else the error the answer stands for. */
  request<T>(method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE", path: string, options?: AdminRequestOptions): Promise<T>;
}

/** A client of the gateway at `server.url`, sending `server.token`. */
export function adminClient(server: RemoteServer): AdminClient {
  return {
    async request<T>(method: string, path: string, options: AdminRequestOptions = {}): Promise<T> {
      const url = new URL(`${server.url}${path}`);
      for (const [key, value] of Object.entries(options.query ?? {})) url.searchParams.set(key, value);
      const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      let response: Response;
      try {
        response = await fetch(url, {
          method,
          headers: {
            authorization: `Bearer ${server.token}`,
            "user-agent": `mcpgw-cli/${VERSION}`,
            accept: "application/json",
            ...(options.body !== undefined && { "content-type": "application/json" }),
          },
          ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
          signal: AbortSignal.timeout(timeoutMs),
          redirect: "error",
        });
      } catch (err) {
        throw unreachable(server, method, path, err, timeoutMs);
      }
      const text = await response.text();
      const json = parseJson(text);
      if (response.ok && json !== undefined) return json as T;
      throw answerError(server, method, path, response.status, json);
    },
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The request never got an answer: nothing listening, a name that does not resolve, TLS, or too slow. */
function unreachable(server: RemoteServer, method: string, path: string, err: unknown, timeoutMs: number): McpgwError {
  const name = err instanceof Error ? err.name : "";
  if (name === "TimeoutError" || name === "AbortError") {
    return new McpgwError(
      `the gateway at ${server.url} did not answer ${method} ${path} within ${formatDuration(timeoutMs)}`,
      "it may still be doing it (testing a slow backend?): check with a list or show command before trying again",
    );
  }
  return new McpgwError(
    `cannot reach the gateway at ${server.url}: ${describeError(err)} (is mcpgw serve running? check ${server.source})`,
    `${server.source} takes the gateway's address as clients reach it, e.g. http://127.0.0.1:8080`,
  );
}

/** The error a non-2xx answer (or one that is not JSON) stands for. */
function answerError(server: RemoteServer, method: string, path: string, status: number, json: unknown): McpgwError {
  const body = (typeof json === "object" && json !== null ? json : {}) as { error?: unknown; hint?: unknown; field?: unknown };
  if (typeof body.error !== "string") {
    return new McpgwError(
      `the gateway at ${server.url} answered ${method} ${path} with HTTP ${status} and no admin API error`,
      `is ${server.source} the address of an mcpgw gateway (and one recent enough to have the admin API)?`,
    );
  }
  const hint = typeof body.hint === "string" ? body.hint : undefined;
  switch (status) {
    case 400: {
      const error = new UsageError(body.error, hint);
      if (typeof body.field === "string") error.field = body.field;
      return error;
    }
    case 401:
      return new McpgwError(
        `the gateway at ${server.url} refused the token (${body.error})`,
        "pass an admin token with --token or MCPGW_TOKEN; mcpgw token issue --sub ops --role ops prints one (run it where the database is)",
      );
    case 403:
      return new McpgwError(body.error, hint);
    case 404:
      return new NotFoundError(body.error, hint);
    case 409:
      return new ConflictError(body.error, hint);
    default:
      return new McpgwError(status >= 500 ? `the gateway at ${server.url} failed: ${body.error}` : body.error, hint);
  }
}
