import { ConfigError } from "../errors.ts";
import { formatDuration, parseDuration } from "./duration.ts";
import { type EnvSettings, variableName } from "./env.ts";

export const AUTH_MODES = ["required", "off"] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

/** Algorithms the gateway signs its own tokens with: asymmetric, so replicas and the CLI never share a verifying secret. */
export const SIGNING_ALGORITHMS = ["EdDSA", "ES256"] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

/** An external identity provider whose tokens the gateway accepts. */
export interface ExternalIdpSettings {
  jwksUrl: URL;
  issuer: string;
  /** Accepted audiences: the token's `aud` must name at least one. */
  audience: string[];
  /** Claim (dotted path) holding the subject. */
  subjectClaim: string;
  /** Claims (dotted paths) holding the roles; the first one present is used. */
  rolesClaims: string[];
  /** After a JWKS fetch, how long an unknown `kid` is refused without fetching again. */
  jwksCooldownMs: number;
}

export interface AuthSettings {
  /** `required`: every MCP request carries a valid bearer token. `off`: development only, everyone is anonymous. */
  mode: AuthMode;
  /** `iss` of the tokens `mcpgw token issue` mints (and of HS256 shared-secret tokens). */
  tokenIssuer: string;
  /** `aud` of the tokens `mcpgw token issue` mints (and of HS256 shared-secret tokens). */
  tokenAudience: string;
  /** Algorithm of signing keys the gateway creates. */
  signingAlg: SigningAlgorithm;
  /** HS256 shared secret (at least 32 bytes), the simple alternative to the gateway's key pairs. */
  sharedSecret?: Uint8Array;
  external?: ExternalIdpSettings;
  /** Tolerance for exp/nbf/iat, in seconds. */
  clockSkewSec: number;
  /** The longest a token may be valid, from its iat (or from now, without one), in seconds. */
  maxTokenLifetimeSec: number;
  /** The gateway's public origin (https://mcp.example.com), when the request's own origin is not it (behind a proxy). */
  publicUrl?: string;
  /** RFC 9728 `authorization_servers`; empty = derived (the IdP's issuer, else the gateway's). */
  authorizationServers: string[];
}

export const AUTH_DEFAULTS = {
  mode: "required" as AuthMode,
  tokenIssuer: "mcpgw",
  tokenAudience: "mcpgw",
  signingAlg: "EdDSA" as SigningAlgorithm,
  subjectClaim: "sub",
  rolesClaims: ["roles", "groups"],
  clockSkewSec: 30,
  jwksCooldownMs: 5_000,
} as const;

/** The longest lifetime `mcpgw token issue` gives a token; by default also the longest any token may have. */
export const MAX_ISSUED_TOKEN_LIFETIME_MS = 366 * 86_400_000;

/** A skew above this would quietly lengthen every token's life; fix the clocks (NTP) instead. */
export const MAX_CLOCK_SKEW_SEC = 30;
const MAX_JWKS_COOLDOWN_MS = 10 * 60_000;
/** HS256 needs a key at least as long as its output (RFC 7518 §3.2). */
export const MIN_SECRET_BYTES = 32;
const CLAIM_PATH = /^[A-Za-z0-9_:/.-]{1,128}$/;

/** Checks and merges the authentication variables; a bad value stops the start with exit code 2. */
export function resolveAuthSettings(env: EnvSettings): AuthSettings {
  const mode = oneOf(env.auth, AUTH_MODES, "auth") ?? AUTH_DEFAULTS.mode;
  const settings: AuthSettings = {
    mode,
    tokenIssuer: nonEmpty(env.tokenIssuer, "tokenIssuer") ?? AUTH_DEFAULTS.tokenIssuer,
    tokenAudience: nonEmpty(env.tokenAudience, "tokenAudience") ?? AUTH_DEFAULTS.tokenAudience,
    signingAlg: oneOf(env.signingAlg, SIGNING_ALGORITHMS, "signingAlg") ?? AUTH_DEFAULTS.signingAlg,
    clockSkewSec: clockSkew(env.jwtClockSkew),
    maxTokenLifetimeSec: Math.floor(
      (env.jwtMaxLifetime === undefined ? MAX_ISSUED_TOKEN_LIFETIME_MS : parseDuration(env.jwtMaxLifetime, variableName("jwtMaxLifetime"))) / 1_000,
    ),
    authorizationServers: urlList(env.authorizationServers, "authorizationServers"),
  };
  const secret = sharedSecret(env.jwtSecret);
  if (secret) settings.sharedSecret = secret;
  const external = externalIdp(env);
  if (external) settings.external = external;
  if (env.publicUrl !== undefined) settings.publicUrl = publicOrigin(env.publicUrl);
  return settings;
}

function oneOf<T extends string>(text: string | undefined, values: readonly T[], key: keyof EnvSettings): T | undefined {
  if (text === undefined) return undefined;
  if ((values as readonly string[]).includes(text)) return text as T;
  throw new ConfigError(`${variableName(key)}: "${text}" is not one of ${values.join(", ")}`, `set ${variableName(key)} to one of: ${values.join(", ")}`);
}

function nonEmpty(text: string | undefined, key: keyof EnvSettings): string | undefined {
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (trimmed === "") throw new ConfigError(`${variableName(key)} is blank`, `set it to a non-blank value or unset it`);
  return trimmed;
}

function clockSkew(text: string | undefined): number {
  if (text === undefined) return AUTH_DEFAULTS.clockSkewSec;
  const ms = parseDuration(text, variableName("jwtClockSkew"));
  if (ms > MAX_CLOCK_SKEW_SEC * 1_000) {
    throw new ConfigError(
      `${variableName("jwtClockSkew")} "${text}" is more than ${MAX_CLOCK_SKEW_SEC}s`,
      `use at most ${MAX_CLOCK_SKEW_SEC}s: a larger skew lengthens every token's life; keep the clocks in sync (NTP) instead`,
    );
  }
  return Math.floor(ms / 1_000);
}

function sharedSecret(text: string | undefined): Uint8Array | undefined {
  if (text === undefined) return undefined;
  const bytes = new TextEncoder().encode(text);
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new ConfigError(
      `${variableName("jwtSecret")} is ${bytes.length} bytes long; HS256 needs at least ${MIN_SECRET_BYTES}`,
      `generate one with: openssl rand -base64 48   (or unset ${variableName("jwtSecret")} and use the gateway's own keys)`,
    );
  }
  return bytes;
}

function externalIdp(env: EnvSettings): ExternalIdpSettings | undefined {
  const given = { jwtJwksUrl: env.jwtJwksUrl, jwtIssuer: env.jwtIssuer, jwtAudience: env.jwtAudience } as const;
  const set = Object.entries(given).filter(([, value]) => value !== undefined);
  const idpOnly = (["jwtSubjectClaim", "jwtRolesClaim", "jwtJwksCooldown"] as const).filter((key) => env[key] !== undefined);
  if (set.length === 0) {
    if (idpOnly.length > 0) {
      throw new ConfigError(
        `${variableName(idpOnly[0]!)} is set but no identity provider is configured`,
        `set ${variableName("jwtJwksUrl")}, ${variableName("jwtIssuer")} and ${variableName("jwtAudience")}, or unset it`,
      );
    }
    return undefined;
  }
  const missing = (Object.keys(given) as (keyof typeof given)[]).filter((key) => given[key] === undefined);
  if (missing.length > 0) {
    throw new ConfigError(
      `an external identity provider needs ${variableName("jwtJwksUrl")}, ${variableName("jwtIssuer")} and ${variableName("jwtAudience")}; ${missing.map(variableName).join(" and ")} ${missing.length > 1 ? "are" : "is"} missing`,
      `set all three (the audience is what your provider puts in "aud" for this gateway), or none`,
    );
  }
  return {
    jwksUrl: jwksUrl(env.jwtJwksUrl!),
    issuer: nonEmpty(env.jwtIssuer, "jwtIssuer")!,
    audience: audiences(env.jwtAudience!),
    subjectClaim: claimPaths(env.jwtSubjectClaim, "jwtSubjectClaim")?.[0] ?? AUTH_DEFAULTS.subjectClaim,
    rolesClaims: claimPaths(env.jwtRolesClaim, "jwtRolesClaim") ?? [...AUTH_DEFAULTS.rolesClaims],
    jwksCooldownMs: jwksCooldown(env.jwtJwksCooldown),
  };
}

/** HTTPS, or plain HTTP only to this machine: keys fetched over an open network could be swapped. */
function jwksUrl(text: string): URL {
  const source = variableName("jwtJwksUrl");
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`${source}: "${text}" is not a URL`, "use the identity provider's JWKS URL, e.g. https://idp.example.com/.well-known/jwks.json");
  }
  const loopback = ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
    throw new ConfigError(`${source}: "${text}" is not an https URL`, "fetch signing keys over https (plain http is accepted only for localhost)");
  }
  return url;
}

function audiences(text: string): string[] {
  const values = list(text);
  if (values.length === 0)
    throw new ConfigError(
      `${variableName("jwtAudience")} is blank`,
      "set it to the audience your provider puts in tokens for this gateway (comma-separate several)",
    );
  return values;
}

function jwksCooldown(text: string | undefined): number {
  if (text === undefined) return AUTH_DEFAULTS.jwksCooldownMs;
  const ms = parseDuration(text, variableName("jwtJwksCooldown"));
  if (ms > MAX_JWKS_COOLDOWN_MS)
    throw new ConfigError(`${variableName("jwtJwksCooldown")} "${text}" is out of range`, `use 0s to ${formatDuration(MAX_JWKS_COOLDOWN_MS)}`);
  return ms;
}

function claimPaths(text: string | undefined, key: keyof EnvSettings): string[] | undefined {
  if (text === undefined) return undefined;
  const paths = list(text);
  const bad = paths.find((path) => !CLAIM_PATH.test(path) || path.split(".").includes(""));
  if (paths.length === 0 || bad !== undefined) {
    throw new ConfigError(
      `${variableName(key)}: "${text}" is not a claim name`,
      'use claim names, comma-separated, with dots for nested claims, e.g. "roles,groups" or "realm_access.roles"',
    );
  }
  return paths;
}

function publicOrigin(text: string): string {
  const source = variableName("publicUrl");
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`${source}: "${text}" is not a URL`, "use the origin clients reach the gateway at, e.g. https://mcp.example.com");
  }
  if ((url.protocol !== "https:" && url.protocol !== "http:") || url.pathname !== "/" || url.search !== "" || url.hash !== "" || url.username !== "") {
    throw new ConfigError(
      `${source}: "${text}" is not an http(s) origin`,
      "give scheme, host and port only, e.g. https://mcp.example.com (the gateway serves /mcp and /.well-known at its root)",
    );
  }
  return url.origin;
}

function urlList(text: string | undefined, key: keyof EnvSettings): string[] {
  return list(text).map((item) => {
    try {
      const url = new URL(item);
      if (url.protocol === "https:" || url.protocol === "http:") return item;
    } catch {
      // reported below
    }
    throw new ConfigError(
      `${variableName(key)}: "${item}" is not an http(s) URL`,
      "list authorization server issuer URLs, comma-separated, e.g. https://idp.example.com",
    );
  });
}

function list(text: string | undefined): string[] {
  return (text ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}
