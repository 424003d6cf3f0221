/**
 * How the console talks to the admin API: fetch() with the pasted token as a bearer header, paths
 * relative to the page (so a proxy prefix carries over), errors as ApiError with the API's
 * {error, hint}. A 401 (token expired or revoked) reaches the app's handler, which forgets the token.
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly hint?: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export type UnauthorizedHandler = (error: ApiError) => void;

async function errorOf(response: Response): Promise<ApiError> {
  let body: { error?: unknown; hint?: unknown; field?: unknown } = {};
  try {
    body = (await response.json()) as typeof body;
  } catch {
    // Not JSON (a proxy's page): the status says enough.
  }
  const message = typeof body.error === "string" ? body.error : `${response.status} ${response.statusText || "error"}`;
  return new ApiError(response.status, message, typeof body.hint === "string" ? body.hint : undefined, typeof body.field === "string" ? body.field : undefined);
}

export class AdminClient {
  constructor(
    private readonly token: string,
    private readonly onUnauthorized: UnauthorizedHandler,
  ) {}

  /** A response from the API, or an ApiError (a 401 also reported to the app). */
  async send(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(path, {
      method,
      headers,
      cache: "no-store",
      ...(body !== undefined && { body: JSON.stringify(body) }),
      ...(signal && { signal }),
    });
    if (response.ok) return response;
    const error = await errorOf(response);
    if (error.status === 401) this.onUnauthorized(error);
    throw error;
  }

  async get<T>(path: string, signal?: AbortSignal): Promise<T> {
    return (await (await this.send("GET", path, undefined, signal)).json()) as T;
  }

  async post<T>(path: string, body: unknown = {}): Promise<T> {
    return (await (await this.send("POST", path, body)).json()) as T;
  }

  async delete<T>(path: string): Promise<T> {
    return (await (await this.send("DELETE", path)).json()) as T;
  }
}

/** `v1/admin/audit?since=1h&…`: a path relative to the page with the defined, non-empty parameters. */
export function apiPath(path: string, query: Record<string, string | number | undefined> = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== "") params.set(key, String(value));
  const search = params.toString();
  return search ? `${path}?${search}` : path;
}
