import { describe, expect, test } from "vitest";
import { readEnv } from "./env.ts";
import { ConfigError } from "../errors.ts";
import { resolveAuthSettings } from "./auth-settings.ts";

const resolve = (env: Record<string, string>) => resolveAuthSettings(readEnv(env));
const IDP = { MCPGW_JWT_JWKS_URL: "https://idp.example.com/jwks", MCPGW_JWT_ISSUER: "https://idp.example.com/", MCPGW_JWT_AUDIENCE: "mcpgw-prod" };

describe("authentication settings", () => {
  test("an external identity provider: all three variables, claims and cooldown", () => {
    const auth = resolve({
      ...IDP,
      MCPGW_JWT_AUDIENCE: "a, b",
      MCPGW_JWT_SUBJECT_CLAIM: "email",
      MCPGW_JWT_ROLES_CLAIM: "realm_access.roles,groups",
      MCPGW_JWT_JWKS_COOLDOWN: "0",
    });
    expect(auth.external).toEqual({
      jwksUrl: new URL(IDP.MCPGW_JWT_JWKS_URL),
      issuer: "https://idp.example.com/",
      audience: ["a", "b"],
      subjectClaim: "email",
      rolesClaims: ["realm_access.roles", "groups"],
      jwksCooldownMs: 0,
    });
    expect(resolve(IDP).external).toMatchObject({ subjectClaim: "sub", rolesClaims: ["roles", "groups"], jwksCooldownMs: 5_000 });
  });

  test("own issuer, audience, algorithm, secret, skew, public URL and authorization servers", () => {
    const secret = "s".repeat(32);
    const auth = resolve({
      MCPGW_AUTH: "off",
      MCPGW_TOKEN_ISSUER: "https://mcp.example.com",
      MCPGW_TOKEN_AUDIENCE: "gw",
      MCPGW_SIGNING_ALG: "ES256",
      MCPGW_JWT_SECRET: secret,
      MCPGW_JWT_CLOCK_SKEW: "10s",
      MCPGW_JWT_MAX_LIFETIME: "30d",
      MCPGW_PUBLIC_URL: "https://mcp.example.com/",
      MCPGW_AUTHORIZATION_SERVERS: "https://a.example.com, https://b.example.com",
    });
    expect(auth).toEqual({
      mode: "off",
      tokenIssuer: "https://mcp.example.com",
      tokenAudience: "gw",
      signingAlg: "ES256",
      sharedSecret: new TextEncoder().encode(secret),
      clockSkewSec: 10,
      maxTokenLifetimeSec: 30 * 86_400,
      publicUrl: "https://mcp.example.com",
      authorizationServers: ["https://a.example.com", "https://b.example.com"],
    });
  });

  test.each<[string, Record<string, string>, RegExp, RegExp]>([
    ["an unknown mode", { MCPGW_AUTH: "maybe" }, /MCPGW_AUTH: "maybe" is not one of required, off/, /required, off/],
    ["a short secret", { MCPGW_JWT_SECRET: "short" }, /MCPGW_JWT_SECRET is 5 bytes long; HS256 needs at least 32/, /openssl rand/],
    ["a JWKS URL alone", { MCPGW_JWT_JWKS_URL: IDP.MCPGW_JWT_JWKS_URL }, /MCPGW_JWT_ISSUER and MCPGW_JWT_AUDIENCE are missing/, /set all three/],
    ["an issuer alone", { MCPGW_JWT_ISSUER: "x" }, /MCPGW_JWT_JWKS_URL and MCPGW_JWT_AUDIENCE are missing/, /set all three/],
    ["a claim setting without a provider", { MCPGW_JWT_ROLES_CLAIM: "groups" }, /MCPGW_JWT_ROLES_CLAIM is set but no identity provider/, /MCPGW_JWT_JWKS_URL/],
    ["a plain-http JWKS elsewhere than localhost", { ...IDP, MCPGW_JWT_JWKS_URL: "http://idp.example.com/jwks" }, /is not an https URL/, /localhost/],
    ["a JWKS URL that is no URL", { ...IDP, MCPGW_JWT_JWKS_URL: "idp" }, /"idp" is not a URL/, /JWKS URL/],
    ["a skew over 30s", { MCPGW_JWT_CLOCK_SKEW: "5m" }, /MCPGW_JWT_CLOCK_SKEW "5m" is more than 30s/, /NTP/],
    ["a skew that is no duration", { MCPGW_JWT_CLOCK_SKEW: "lots" }, /is not a duration/, /e\.g\./],
    ["a public URL with a path", { MCPGW_PUBLIC_URL: "https://example.com/gw" }, /is not an http\(s\) origin/, /scheme, host and port only/],
    ["an unknown signing algorithm", { MCPGW_SIGNING_ALG: "RS256" }, /MCPGW_SIGNING_ALG: "RS256" is not one of EdDSA, ES256/, /EdDSA, ES256/],
    ["a bad claim name", { ...IDP, MCPGW_JWT_SUBJECT_CLAIM: "a..b" }, /is not a claim name/, /realm_access\.roles/],
    ["an authorization server that is no URL", { MCPGW_AUTHORIZATION_SERVERS: "idp" }, /"idp" is not an http\(s\) URL/, /issuer URLs/],
    ["a blank audience", { ...IDP, MCPGW_JWT_AUDIENCE: " , " }, /MCPGW_JWT_AUDIENCE is blank/, /audience/],
  ])("refuses %s with a ConfigError that says what to do", (_label, env, message, hint) => {
    let error: unknown;
    try {
      resolve(env);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(message);
    expect((error as ConfigError).hint).toMatch(hint);
    expect((error as ConfigError).exitCode).toBe(2);
  });

  test("plain http is accepted for a JWKS on this machine", () => {
    expect(resolve({ ...IDP, MCPGW_JWT_JWKS_URL: "http://127.0.0.1:9999/jwks" }).external?.jwksUrl.href).toBe("http://127.0.0.1:9999/jwks");
  });
});
