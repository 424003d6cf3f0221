import { UsageError } from "../errors.ts";
import {
  type TokenExchangeAuth,
  type TokenExchangeInput,
  describeTokenExchange,
  givenExchangeFlags,
  parseTokenExchangeAuth,
  tokenExchangeInputOf,
} from "./token-exchange-auth.ts";

/**
 * How a backend learns who is calling. `static`: the backend's own headers/env, the same for every
 * caller (today's behaviour, and the default). `gateway-assertion`: each request carries a
 * short-lived JWT the gateway signs for the calling subject. `token-exchange`: the caller's
 * identity-provider token exchanged (RFC 8693) for one of the backend's. `per-subject-secret`: each
 * request carries the calling subject's own secret, stored encrypted (mcpgw secret set)
 * (docs/security.md "Credentials to backends").
 */
export const AUTH_MODES = ["static", "gateway-assertion", "token-exchange", "per-subject-secret"] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

/** The header a per-caller credential goes in when the operator names none: `Authorization: Bearer <credential>`. */
export const DEFAULT_AUTH_HEADER = "Authorization";

/** A backend's per-caller credential settings, as stored (absent: static). */
export type BackendAuth = GatewayAssertionAuth | TokenExchangeAuth | SubjectSecretAuth;

export interface GatewayAssertionAuth {
  mode: "gateway-assertion";
  /** The assertion's `aud`; when absent, the backend's URL. */
  audience?: string;
  /** The header it is sent in; `Authorization` gets the `Bearer ` scheme, any other the bare token. */
  header?: string;
}

export interface SubjectSecretAuth {
  mode: "per-subject-secret";
  /** The header it is sent in; `Authorization` gets the `Bearer ` scheme, any other the bare secret. */
  header?: string;
}

/** The auth flags of `backend add|update`. */
export interface BackendAuthInput extends TokenExchangeInput {
  auth?: string;
  authHeader?: string;
  assertionAudience?: string;
}

const MODES_HINT = `use --auth ${AUTH_MODES.join(" or --auth ")} (static is the default)`;
// RFC 9110 token characters, as for --header.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Validates the auth flags of a backend of `transport` whose static headers are `headers`; undefined
 * means static. Per-caller modes are HTTP only: a stdio process's environment is fixed when it
 * starts, so a credential that expires (an assertion lives minutes) cannot be renewed in it.
 */
export function parseBackendAuth(input: BackendAuthInput, transport: "stdio" | "http", headers: Record<string, string>): BackendAuth | undefined {
  const exchangeFlags = givenExchangeFlags(input);
  const options = input.authHeader !== undefined || input.assertionAudience !== undefined || exchangeFlags.length > 0;
  const mode = input.auth ?? (options ? undefined : "static");
  if (mode === undefined && exchangeFlags.length > 0)
    throw new UsageError(
      `${exchangeFlags.join(", ")} ${exchangeFlags.length === 1 ? "needs" : "need"} --auth token-exchange`,
      "add --auth token-exchange, or drop them",
    );
  if (mode === undefined)
    throw new UsageError(
      "--auth-header and --assertion-audience need --auth gateway-assertion (--auth-header also token-exchange or per-subject-secret)",
      "add --auth gateway-assertion, or drop them",
    );
  if (!(AUTH_MODES as readonly string[]).includes(mode)) throw new UsageError(`--auth "${mode}" is not a credential mode`, MODES_HINT);
  if (mode === "static") {
    if (exchangeFlags.length > 0)
      throw new UsageError(
        `${exchangeFlags.join(", ")} ${exchangeFlags.length === 1 ? "applies" : "apply"} only to --auth token-exchange`,
        "drop them, or use --auth token-exchange",
      );
    if (options) {
      throw new UsageError("--auth-header and --assertion-audience apply only to --auth gateway-assertion", "drop them, or use --auth gateway-assertion");
    }
    return undefined;
  }
  if (mode !== "token-exchange" && exchangeFlags.length > 0)
    throw new UsageError(
      `${exchangeFlags.join(", ")} ${exchangeFlags.length === 1 ? "applies" : "apply"} only to --auth token-exchange`,
      "drop them, or use --auth token-exchange",
    );
  if (mode !== "gateway-assertion" && input.assertionAudience !== undefined)
    throw new UsageError("--assertion-audience applies only to --auth gateway-assertion", "drop it (--exchange-audience sets a token exchange's audience)");
  if (transport === "stdio") {
    throw new UsageError(
      `--auth ${mode} applies only to --url (HTTP) backends`,
      "a stdio process's environment is fixed when it starts, so a credential that expires or is changed cannot reach it: " +
        "use --auth static with --env, or put the server behind HTTP",
    );
  }
  const header = input.authHeader;
  if (header !== undefined && !HEADER_NAME.test(header)) {
    throw new UsageError(`--auth-header "${header}" is not a header name`, "give a header name, e.g. --auth-header X-Gateway-Assertion");
  }
  const carrier = (header ?? DEFAULT_AUTH_HEADER).toLowerCase();
  const clash = Object.keys(headers).find((name) => name.toLowerCase() === carrier);
  if (clash !== undefined) {
    throw new UsageError(
      `--header ${clash} would be overwritten by the per-caller credential`,
      "drop that --header (backend update --unset header), or send the credential in another header with --auth-header NAME",
    );
  }
  if (mode === "token-exchange") return parseTokenExchangeAuth(input, header);
  if (mode === "per-subject-secret") return { mode, ...(header !== undefined && { header }) };
  const audience = input.assertionAudience;
  if (audience !== undefined && audience.trim() === "") {
    throw new UsageError("--assertion-audience is empty", "give the audience the backend expects, e.g. --assertion-audience https://tickets.example.com");
  }
  return { mode: "gateway-assertion", ...(audience !== undefined && { audience }), ...(header !== undefined && { header }) };
}

/** The auth settings written back as the flags that would create them. */
export function authInputOf(auth: BackendAuth | undefined): BackendAuthInput {
  if (!auth) return {};
  if (auth.mode === "token-exchange") return { auth: auth.mode, ...(auth.header !== undefined && { authHeader: auth.header }), ...tokenExchangeInputOf(auth) };
  return {
    auth: auth.mode,
    ...(auth.header !== undefined && { authHeader: auth.header }),
    ...(auth.mode === "gateway-assertion" && auth.audience !== undefined && { assertionAudience: auth.audience }),
  };
}

/** One line for `backend show`: the mode and where the credential goes, never a secret. */
export function describeAuth(auth: BackendAuth | undefined, url: string | undefined): string {
  if (!auth) return "static (the backend's own headers/env, the same for every caller)";
  const header = auth.header ?? DEFAULT_AUTH_HEADER;
  const carrier = header === DEFAULT_AUTH_HEADER ? `${header}: Bearer …` : header;
  if (auth.mode === "token-exchange") return describeTokenExchange(auth, url, carrier);
  if (auth.mode === "per-subject-secret") return `per-subject-secret: the calling subject's own secret (mcpgw secret set) in ${carrier}`;
  return `gateway-assertion: a JWT per call signed by the gateway (aud ${auth.audience ?? url ?? "?"}) in ${carrier}`;
}
