import { afterEach, describe, expect, test, vi } from "vitest";
import { SignJWT, importJWK } from "jose";
import { AuthFailure, type AuthFailureReason } from "./auth-failure.ts";
import { type AuthSettings, AUTH_DEFAULTS, MAX_ISSUED_TOKEN_LIFETIME_MS } from "../config/auth-settings.ts";
import { KeyRing } from "./key-ring.ts";
import { RevocationList } from "./revocations.ts";
import type { SigningKeyRecord } from "./signing-key.ts";
import { generateSigningKey } from "./signing-keys.ts";
import { TokenVerifier } from "./token-verifier.ts";
import { VerifiedTokenCache } from "./verified-token-cache.ts";
import type { VerifiedToken } from "./verified-token.ts";

const AUTH: AuthSettings = {
  mode: "required",
  tokenIssuer: "mcpgw",
  tokenAudience: "mcpgw",
  signingAlg: "EdDSA",
  clockSkewSec: AUTH_DEFAULTS.clockSkewSec,
  maxTokenLifetimeSec: MAX_ISSUED_TOKEN_LIFETIME_MS / 1_000,
  authorizationServers: [],
};

async function sign(key: SigningKeyRecord, claims: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1_000);
  return new SignJWT({ roles: ["dev"], ...claims })
    .setProtectedHeader({ alg: key.alg, kid: key.kid })
    .setIssuer("mcpgw")
    .setAudience("mcpgw")
    .setSubject("alice")
    .setJti((claims.jti as string | undefined) ?? crypto.randomUUID())
    .setIssuedAt(now)
    .setExpirationTime((claims.exp as number | undefined) ?? now + 600)
    .sign(await importJWK(key.privateJwk, key.alg));
}

async function setup(alg: "EdDSA" | "ES256" = "EdDSA", now?: () => number) {
  const key = await generateSigningKey(alg);
  const keys = new KeyRing();
  await keys.load([key]);
  const revocations = new RevocationList();
  const verifier = new TokenVerifier({ auth: AUTH, keys, revocations, ...(now && { now }) });
  return { key, keys, revocations, verifier };
}

async function reasonOf(promise: Promise<unknown>): Promise<AuthFailureReason | "accepted"> {
  try {
    await promise;
    return "accepted";
  } catch (err) {
    if (err instanceof AuthFailure) return err.reason;
    throw err;
  }
}

afterEach(() => vi.restoreAllMocks());

describe("TokenVerifier", () => {
  test.each(["EdDSA", "ES256"] as const)("verifies the gateway's own %s tokens into a principal", async (alg) => {
    const { key, verifier } = await setup(alg);
    const verified = await verifier.verify(await sign(key));
    expect(verified.principal).toEqual({ subject: "alice", roles: ["dev"], anonymous: false });
    expect(verified.source).toBe("own");
    expect(verified.authInfo).toMatchObject({ clientId: "alice", scopes: ["dev"], extra: { principal: verified.principal } });
    expect(verified.authInfo.token).not.toContain(".");
  });

  test("a cached token costs no signature check", async () => {
    const { key, verifier } = await setup();
    const token = await sign(key);
    const verify = vi.spyOn(crypto.subtle, "verify");
    await verifier.verify(token);
    expect(verify).toHaveBeenCalledTimes(1);
    for (let i = 0; i < 5; i++) await verifier.verify(token);
    expect(verify).toHaveBeenCalledTimes(1);
  });

  test("the cache honours a revocation that comes after verification", async () => {
    const { key, revocations, verifier } = await setup();
    const token = await sign(key, { jti: "jti-1" });
    expect(await reasonOf(verifier.verify(token))).toBe("accepted");
    await revocations.load(async () => ["jti-1"]);
    expect(await reasonOf(verifier.verify(token))).toBe("revoked");
  });

  test("the cache honours key retirement and removal", async () => {
    const { key, keys, verifier } = await setup();
    const token = await sign(key);
    expect(await reasonOf(verifier.verify(token))).toBe("accepted");
    await keys.load([{ ...key, retiredAt: Date.now() }]);
    expect(await reasonOf(verifier.verify(token))).toBe("retired_key");
    await keys.load([]);
    expect(await reasonOf(verifier.verify(token))).toBe("unknown_kid");
  });

  test("a cached token is dropped at expiry plus skew, and then refused", async () => {
    let clock = Date.now();
    const { key, verifier } = await setup("EdDSA", () => clock);
    const exp = Math.floor(clock / 1_000) + 2;
    const token = await sign(key, { exp });
    expect(await reasonOf(verifier.verify(token))).toBe("accepted");
    clock = (exp + AUTH.clockSkewSec) * 1_000 + 1;
    // jose checks against the real clock; the cache against ours: past the cache's horizon the token is verified again.
    vi.useFakeTimers({ now: clock, toFake: ["Date"] });
    try {
      expect(await reasonOf(verifier.verify(token))).toBe("expired");
    } finally {
      vi.useRealTimers();
    }
  });

  test("the algorithm in the header must be the key's own", async () => {
    const { key, verifier } = await setup("EdDSA");
    const es = await generateSigningKey("ES256");
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "ES256", kid: key.kid })
      .setSubject("x")
      .setExpirationTime("1h")
      .sign(await importJWK(es.privateJwk, "ES256"));
    expect(await reasonOf(verifier.verify(token))).toBe("algorithm_not_allowed");
  });

  test("tokens of the gateway must carry a jti (so that they can be revoked)", async () => {
    const { key, verifier } = await setup();
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: key.alg, kid: key.kid })
      .setIssuer("mcpgw")
      .setAudience("mcpgw")
      .setSubject("a")
      .setExpirationTime("1h")
      .sign(await importJWK(key.privateJwk, key.alg));
    expect(await reasonOf(verifier.verify(token))).toBe("missing_claim");
  });

  test("JWE (five parts) is refused as malformed", async () => {
    const { verifier } = await setup();
    expect(await reasonOf(verifier.verify("a.b.c.d.e"))).toBe("malformed");
  });
});

describe("VerifiedTokenCache", () => {
  const entry = (validUntilMs: number) => ({ validUntilMs }) as VerifiedToken;

  test("is bounded: expired entries go first, then the oldest", () => {
    const cache = new VerifiedTokenCache(2);
    cache.set("a", entry(1_000), 0);
    cache.set("b", entry(5_000), 0);
    cache.set("c", entry(5_000), 2_000); // a has expired: it goes
    expect([cache.get("a", 2_000), cache.get("b", 2_000), cache.get("c", 2_000)].map(Boolean)).toEqual([false, true, true]);
    cache.set("d", entry(5_000), 2_000); // none expired: the oldest (b) goes
    expect(cache.size).toBe(2);
    expect(cache.get("b", 2_000)).toBeUndefined();
    expect(cache.get("d", 2_000)).toBeDefined();
    expect(cache.get("d", 5_000)).toBeUndefined();
  });
});
