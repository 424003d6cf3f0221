import { UsageError } from "../errors.ts";

/**
 * `--auth token-exchange`: each caller's identity-provider token is exchanged (RFC 8693) at the
 * operator's token endpoint for a token with the backend as audience; the backend receives that.
 */
export interface TokenExchangeAuth {
  mode: "token-exchange";
  /** The authorization server's token endpoint (https, or http on a loopback address). */
  tokenEndpoint: string;
  /** The `audience` asked for; when absent, the backend's URL. */
  audience?: string;
  /** The `scope` asked for (space-separated), if any. */
  scope?: string;
  /** The gateway's client id at the token endpoint. */
  clientId?: string;
  /** Its client secret as a `${VAR}` reference, resolved from the gateway's environment: never the secret itself. */
  clientSecret?: string;
  /** The header the exchanged token is sent in; `Authorization` gets the `Bearer ` scheme. */
  header?: string;
}

/** The token-exchange flags of `backend add|update`. */
export interface TokenExchangeInput {
  tokenEndpoint?: string;
  exchangeAudience?: string;
  exchangeScope?: string;
  clientId?: string;
  clientSecret?: string;
}

/** The flags above as the operator types them, for messages. */
export const TOKEN_EXCHANGE_FLAGS = {
  tokenEndpoint: "--token-endpoint",
  exchangeAudience: "--exchange-audience",
  exchangeScope: "--exchange-scope",
  clientId: "--client-id",
  clientSecret: "--client-secret",
} as const satisfies Record<keyof TokenExchangeInput, string>;

/** Exactly one `${VAR}` reference, nothing else. */
const SECRET_REFERENCE = /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/;
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "[::1]", "localhost"]);
// RFC 6749 §3.3: scope tokens are printable ASCII without space, quote or backslash, separated by single spaces.
const SCOPE = /^[\x21\x23-\x5B\x5D-\x7E]+(?: [\x21\x23-\x5B\x5D-\x7E]+)*$/;

/** The token-exchange flags that were given, by name. */
export function givenExchangeFlags(input: TokenExchangeInput): string[] {
  return (Object.keys(TOKEN_EXCHANGE_FLAGS) as (keyof TokenExchangeInput)[]).filter((key) => input[key] !== undefined).map((key) => TOKEN_EXCHANGE_FLAGS[key]);
}

/** Validates the token-exchange flags (the mode and `header` already checked by parseBackendAuth). */
export function parseTokenExchangeAuth(input: TokenExchangeInput, header: string | undefined): TokenExchangeAuth {
  if (input.tokenEndpoint === undefined) {
    throw new UsageError(
      "--auth token-exchange needs --token-endpoint URL",
      "give the authorization server's token endpoint, e.g. --token-endpoint https://idp.example.com/oauth2/token",
    );
  }
  const tokenEndpoint = parseEndpoint(input.tokenEndpoint);
  const audience = nonEmpty(
    input.exchangeAudience,
    "--exchange-audience",
    "give the audience the backend's tokens are for, e.g. --exchange-audience https://tickets.example.com",
  );
  const scope = nonEmpty(input.exchangeScope, "--exchange-scope", 'give space-separated scopes, e.g. --exchange-scope "tickets:read tickets:write"');
  if (scope !== undefined && !SCOPE.test(scope)) {
    throw new UsageError(
      `--exchange-scope "${scope}" is not a scope list`,
      'give scopes separated by single spaces, e.g. --exchange-scope "tickets:read tickets:write"',
    );
  }
  const clientId = nonEmpty(input.clientId, "--client-id", "give the gateway's client id at the token endpoint");
  const clientSecret = input.clientSecret;
  if (clientSecret !== undefined) {
    if (!SECRET_REFERENCE.test(clientSecret)) {
      throw new UsageError(
        "--client-secret takes a ${VAR} reference, never the secret itself",
        "put the secret in mcpgw's environment and name it, single-quoted in a shell: --client-secret '${EXCHANGE_CLIENT_SECRET}'",
      );
    }
    if (clientId === undefined) throw new UsageError("--client-secret needs --client-id", "give the client id the secret belongs to with --client-id ID");
  }
  return {
    mode: "token-exchange",
    tokenEndpoint,
    ...(audience !== undefined && { audience }),
    ...(scope !== undefined && { scope }),
    ...(clientId !== undefined && { clientId }),
    ...(clientSecret !== undefined && { clientSecret }),
    ...(header !== undefined && { header }),
  };
}

/** The stored settings written back as the flags that would create them. */
export function tokenExchangeInputOf(auth: TokenExchangeAuth): TokenExchangeInput {
  return {
    tokenEndpoint: auth.tokenEndpoint,
    ...(auth.audience !== undefined && { exchangeAudience: auth.audience }),
    ...(auth.scope !== undefined && { exchangeScope: auth.scope }),
    ...(auth.clientId !== undefined && { clientId: auth.clientId }),
    ...(auth.clientSecret !== undefined && { clientSecret: auth.clientSecret }),
  };
}

/** For `backend show`: endpoint, audience, scope and client id; the secret only as its reference. */
export function describeTokenExchange(auth: TokenExchangeAuth, url: string | undefined, carrier: string): string {
  const parts = [`aud ${auth.audience ?? url ?? "?"}`, ...(auth.scope ? [`scope "${auth.scope}"`] : [])];
  const client = auth.clientId === undefined ? "" : `, as client ${auth.clientId}${auth.clientSecret ? ` (secret ${auth.clientSecret})` : ""}`;
  return `token-exchange: the caller's identity-provider token exchanged at ${auth.tokenEndpoint} (${parts.join(", ")})${client}, sent in ${carrier}`;
}

function parseEndpoint(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--token-endpoint "${text}" is not a URL`, "give an absolute URL, e.g. --token-endpoint https://idp.example.com/oauth2/token");
  }
  const loopback = LOOPBACK_HOSTS.has(url.hostname);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
    throw new UsageError(
      `--token-endpoint ${url.protocol}//${url.host} must use https`,
      "the caller's token and the client secret travel to it: use https (plain http only on a loopback address)",
    );
  }
  if (url.username !== "" || url.password !== "") {
    throw new UsageError("--token-endpoint must not hold credentials", "give the client with --client-id and --client-secret '${VAR}' instead");
  }
  return url.href;
}

function nonEmpty(value: string | undefined, flag: string, hint: string): string | undefined {
  if (value !== undefined && value.trim() === "") throw new UsageError(`${flag} is empty`, hint);
  return value;
}
