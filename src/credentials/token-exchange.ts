import { McpgwError } from "../errors.ts";
import type { SubjectToken } from "./subject-token.ts";

/** RFC 8693 §2.1 and §3 names. */
export const TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
export const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";

/** A token endpoint gets this long to answer; a call waiting for an exchange waits no longer. */
export const EXCHANGE_TIMEOUT_MS = 5_000;
/** The largest token endpoint response read; a token response is a few KiB at most. */
export const MAX_EXCHANGE_RESPONSE_BYTES = 64 * 1024;
const DESCRIPTION_MAX = 200;

/** One exchange: where, for whom, for which audience and scope, as which client. */
export interface ExchangeRequest {
  /** The backend it is for, for messages. */
  backend: string;
  tokenEndpoint: string;
  subjectToken: SubjectToken;
  audience: string;
  scope?: string;
  /** Client authentication: HTTP Basic with both (RFC 6749 §2.3.1), `client_id` in the body with the id alone. */
  clientId?: string;
  clientSecret?: string;
}

/** What the token endpoint issued. */
export interface ExchangedToken {
  accessToken: string;
  /** Epoch ms; undefined when the endpoint gave no lifetime (expires_in) and the token carries no `exp`. */
  expiresAtMs?: number;
  issuedTokenType?: string;
  /** The token's `jti` when it is a JWT that has one: what may be named in place of the token. */
  jti?: string;
}

/** An exchange that failed: the message names the backend and endpoint and what it said, never a token. */
export class TokenExchangeError extends McpgwError {
  constructor(
    message: string,
    hint?: string,
    /** The endpoint's `error` code (RFC 6749 §5.2), when it answered with one. */
    readonly code?: string,
  ) {
    super(message, hint);
  }
}

/**
 * Exchanges the caller's identity-provider token for one with `audience` (RFC 8693 §2): a form POST
 * to the token endpoint, bounded in time and in response size. An error response (RFC 6749 §5.2)
 * becomes a TokenExchangeError with its `error` and `error_description`.
 */
export async function exchangeToken(request: ExchangeRequest, fetcher: typeof fetch = fetch, now: () => number = Date.now): Promise<ExchangedToken> {
  const form = new URLSearchParams({
    grant_type: TOKEN_EXCHANGE_GRANT,
    subject_token: request.subjectToken.reveal(),
    subject_token_type: ACCESS_TOKEN_TYPE,
    requested_token_type: ACCESS_TOKEN_TYPE,
    audience: request.audience,
  });
  if (request.scope !== undefined) form.set("scope", request.scope);
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded", accept: "application/json" };
  if (request.clientSecret !== undefined && request.clientId !== undefined) headers.authorization = basicCredentials(request.clientId, request.clientSecret);
  else if (request.clientId !== undefined) form.set("client_id", request.clientId);

  const where = `backend "${request.backend}": exchanging the caller's token at ${request.tokenEndpoint}`;
  const started = now();
  let response: Response;
  let text: string;
  try {
    response = await fetcher(request.tokenEndpoint, {
      method: "POST",
      headers,
      body: form.toString(),
      redirect: "error",
      signal: AbortSignal.timeout(EXCHANGE_TIMEOUT_MS),
    });
    text = await boundedText(response);
  } catch (err) {
    if (err instanceof TokenExchangeError) throw new TokenExchangeError(`${where}: ${err.message}`, err.hint);
    const timedOut = (err as Error)?.name === "TimeoutError";
    throw new TokenExchangeError(
      timedOut ? `${where} failed: no answer within ${EXCHANGE_TIMEOUT_MS / 1_000}s` : `${where} failed: ${(err as Error)?.message ?? String(err)}`,
      "check that the token endpoint is up and reachable from the gateway (mcpgw backend show NAME names it)",
    );
  }
  const body = parseJson(text);
  if (!response.ok) throw rejected(where, response.status, body, request.subjectToken);
  const accessToken = body?.access_token;
  if (typeof accessToken !== "string" || accessToken === "") {
    throw new TokenExchangeError(
      `${where} failed: the response (HTTP ${response.status}) has no access_token`,
      "the token endpoint does not answer as RFC 8693 says",
    );
  }
  const tokenType = body?.token_type;
  if (typeof tokenType === "string" && !/^(bearer|n_a)$/i.test(tokenType)) {
    throw new TokenExchangeError(
      `${where} failed: it issued a token of type "${clip(tokenType)}"; only Bearer tokens can be sent`,
      "ask the token endpoint for a Bearer token",
    );
  }
  const claims = jwtClaims(accessToken);
  const expiresIn = body?.expires_in;
  const expiresAtMs =
    typeof expiresIn === "number" && Number.isFinite(expiresIn) && expiresIn >= 0
      ? started + expiresIn * 1_000
      : typeof claims?.exp === "number"
        ? claims.exp * 1_000
        : undefined;
  const issuedTokenType = typeof body?.issued_token_type === "string" ? body.issued_token_type : undefined;
  const jti = typeof claims?.jti === "string" ? claims.jti : undefined;
  return { accessToken, ...(expiresAtMs !== undefined && { expiresAtMs }), ...(issuedTokenType && { issuedTokenType }), ...(jti && { jti }) };
}

/** RFC 6749 §2.3.1: id and secret form-urlencoded, then Basic. */
function basicCredentials(id: string, secret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, "+");
  return `Basic ${btoa(`${encode(id)}:${encode(secret)}`)}`;
}

async function boundedText(response: Response): Promise<string> {
  const tooBig = () =>
    new TokenExchangeError(`the response is over ${MAX_EXCHANGE_RESPONSE_BYTES} bytes`, "a token response is a few KiB: check --token-endpoint");
  const declared = Number(response.headers.get("content-length") ?? "NaN");
  if (declared > MAX_EXCHANGE_RESPONSE_BYTES) {
    await response.body?.cancel().catch(() => undefined);
    throw tooBig();
  }
  if (!response.body) return "";
  const chunks: Uint8Array[] = [];
  let seen = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    seen += value.byteLength;
    if (seen > MAX_EXCHANGE_RESPONSE_BYTES) {
      await reader.cancel().catch(() => undefined);
      throw tooBig();
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** An error response, as RFC 6749 §5.2 shapes it; the description is the endpoint's, cleaned and without the caller's token. */
function rejected(where: string, status: number, body: Record<string, unknown> | undefined, subjectToken: SubjectToken): TokenExchangeError {
  const code = typeof body?.error === "string" ? clip(body.error) : undefined;
  const description = typeof body?.error_description === "string" ? clip(body.error_description.split(subjectToken.reveal()).join("[token]")) : undefined;
  const said = code === undefined ? `HTTP ${status}` : `${code}${description ? ` (${description})` : ""}, HTTP ${status}`;
  return new TokenExchangeError(`${where} was refused: ${said}`, hintFor(code), code);
}

function hintFor(code: string | undefined): string {
  switch (code) {
    case "invalid_grant":
      return "the identity provider does not accept the caller's token for this exchange: log in again, or ask the operator to allow the exchange for this audience";
    case "invalid_client":
    case "unauthorized_client":
      return "the gateway's client is not accepted: check --client-id and the variable --client-secret names (mcpgw backend show NAME)";
    case "invalid_target":
      return "the token endpoint does not issue tokens for this audience: check --exchange-audience";
    case "invalid_scope":
      return "the token endpoint does not grant this scope: check --exchange-scope";
    default:
      return "check the token endpoint's settings for this backend (mcpgw backend show NAME)";
  }
}

/** A JWT's claims, read without verifying (only to learn exp and jti); undefined for an opaque token. */
function jwtClaims(token: string): Record<string, unknown> | undefined {
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  try {
    return parseJson(Buffer.from(parts[1]!, "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
}

/** Endpoint-chosen text: printable, one line, short. */
function clip(text: string): string {
  const clean = text.replace(/[\u0000-\u001f\u007f]+/g, " ");
  return clean.length > DESCRIPTION_MAX ? `${clean.slice(0, DESCRIPTION_MAX)}…` : clean;
}
