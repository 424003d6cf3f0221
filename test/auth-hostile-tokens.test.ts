import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type JWK, SignJWT } from "jose";
import type { AuthFailureReason } from "../src/auth/auth-failure.ts";
import { activeKey } from "../src/auth/signing-key.ts";
import { issueToken } from "../src/auth/token-issuer.ts";
import type { Store } from "../src/store/store.ts";
import {
  CapturingAuditor,
  capturingLogger,
  freshKey,
  goodClaims,
  hmacWithPublicKey,
  postInitialize,
  signAsGateway,
  signJwt,
  unsignedJwt,
} from "./helpers/auth-tokens.ts";
import { REPO_ROOT, runCli } from "./helpers/cli.ts";
import { BUN, type TestGateway, startTestGateway } from "./helpers/gateway.ts";
import { isolatedSchema, postgresAvailable, type IsolatedSchema } from "./helpers/postgres.ts";

const LAB = { name: "lab", command: [BUN, join(REPO_ROOT, "test/fixtures/lab-server.ts"), "--stdio"], env: { LAB_NAME: "lab" } };
const AUTH = { tokenIssuer: "mcpgw", tokenAudience: "mcpgw", signingAlg: "EdDSA" as const };
const REVOCATION_BOUND_MS = 1_000;

interface Harness {
  gw: TestGateway;
  auditor: CapturingAuditor;
  records: Record<string, unknown>[];
}

async function startHarness(settings: Record<string, string> = {}, databaseUrl?: string): Promise<Harness> {
  const auditor = new CapturingAuditor();
  const { logger, records } = capturingLogger();
  const gw = await startTestGateway([LAB], { auth: "required", ...settings }, { auditor, logger, ...(databaseUrl !== undefined && { databaseUrl }) });
  return { gw, auditor, records };
}

/** The gateway's database as the CLI names it. */
function dbOf(store: Store): string {
  return store.location;
}

/**
 * Sends a token (or a whole Authorization header) and checks the refusal end to end: 401, the
 * RFC 9728 / RFC 6750 challenge, a JSON-RPC error body, the specific reason in the log and in
 * the audit record.
 */
async function expectRefused(h: Harness, authorization: string | undefined, reason: AuthFailureReason, path = "/mcp"): Promise<void> {
  const before = { audit: h.auditor.refusals.length, log: h.records.length };
  const response = await postInitialize(new URL(path, h.gw.base), authorization);
  expect(response.status).toBe(401);
  const challenge = response.headers.get("www-authenticate") ?? "";
  // No authorization server is configured here: no metadata to follow, and the description says how to get a token.
  expect(challenge).toMatch(/^Bearer realm="mcpgw"/);
  expect(challenge).not.toContain("resource_metadata");
  expect(challenge).toContain("mcpgw token issue");
  if (reason === "missing_token") expect(challenge).not.toContain("error=");
  else expect(challenge).toMatch(new RegExp(`error="invalid_token", error_description="${reason}: [^"]*"$`));
  const body = (await response.json()) as { jsonrpc: string; error: { code: number; message: string } };
  expect(body).toMatchObject({ jsonrpc: "2.0", error: { code: -32001 } });
  expect(body.error.message).toContain(`Unauthorized: ${reason}:`);

  const logged = h.records.slice(before.log).filter((r) => r.msg === "request unauthenticated");
  expect(logged).toHaveLength(1);
  expect(logged[0]).toMatchObject({ reason, path, method: "POST" });
  const audited = h.auditor.refusals.slice(before.audit);
  expect(audited).toHaveLength(1);
  expect(audited[0]!.outcome).toMatchObject({ status: "unauthenticated", rule: reason });
  expect(audited[0]!.outcome.errorMessage).toMatch(new RegExp(`^${reason}: `));
  expect(audited[0]!.context.method).toBe(`POST ${path}`);
}

async function expectAccepted(gw: TestGateway, token: string): Promise<void> {
  const response = await postInitialize(gw.mcpUrl(), `Bearer ${token}`);
  expect(response.status, await response.clone().text()).toBe(200);
  await response.body?.cancel();
}

/** Polls until a request with the token is refused for `reason`; returns how long that took. */
async function refusedWithin(gw: TestGateway, token: string, boundMs: number): Promise<{ ms: number; description: string }> {
  const started = performance.now();
  for (;;) {
    const response = await postInitialize(gw.mcpUrl(), `Bearer ${token}`);
    const ms = performance.now() - started;
    if (response.status === 401) return { ms, description: response.headers.get("www-authenticate") ?? "" };
    await response.body?.cancel();
    if (ms > boundMs * 3) throw new Error(`still accepted after ${Math.round(ms)} ms`);
    await Bun.sleep(25);
  }
}

describe("hostile tokens are refused with 401 and a specific reason (SQLite)", () => {
  let h: Harness;
  let gatewayKey: { kid: string; publicJwk: JWK };

  beforeAll(async () => {
    h = await startHarness();
    const key = activeKey(await h.gw.gateway.store.signingKeys.list())!;
    gatewayKey = { kid: key.kid, publicJwk: key.publicJwk };
  });
  afterAll(async () => h?.gw.stop());

  test("a well-formed token of the gateway is accepted (the baseline every case below departs from)", async () => {
    await expectAccepted(h.gw, await signAsGateway(h.gw.gateway.store, goodClaims()));
  });

  test("no token", async () => {
    await expectRefused(h, undefined, "missing_token");
    await expectRefused(h, undefined, "missing_token", "/mcp/lab");
    await expectRefused(h, "Basic YWxpY2U6c2VjcmV0", "missing_token");
  });

  test("malformed", async () => {
    await expectRefused(h, "Bearer not-a-jwt", "malformed");
    await expectRefused(h, "Bearer", "malformed");
    await expectRefused(h, "Bearer a.b.c", "malformed");
    await expectRefused(h, `Bearer ${"eyJhbGciOiJFZERTQSJ9"}.${"e30"}`, "malformed");
  });

  test("bad signature: another key claiming the gateway's kid", async () => {
    const impostor = await freshKey(gatewayKey.kid);
    await expectRefused(h, `Bearer ${await signJwt(impostor.privateJwk, goodClaims())}`, "bad_signature");
  });

  test('alg "none"', async () => {
    await expectRefused(h, `Bearer ${unsignedJwt(goodClaims(), { kid: gatewayKey.kid })}`, "alg_none");
    await expectRefused(h, `Bearer ${unsignedJwt(goodClaims())}`, "alg_none");
  });

  test("algorithm confusion: HS256 signed with the gateway's public key", async () => {
    await expectRefused(h, `Bearer ${await hmacWithPublicKey(gatewayKey.publicJwk, goodClaims(), gatewayKey.kid)}`, "algorithm_confusion");
    // Without a kid, and with no shared secret configured, HS256 has no key at all to apply.
    await expectRefused(h, `Bearer ${await hmacWithPublicKey(gatewayKey.publicJwk, goodClaims())}`, "algorithm_confusion");
  });

  test("expired (beyond the 30 s clock skew)", async () => {
    const now = Math.floor(Date.now() / 1_000);
    await expectRefused(h, `Bearer ${await signAsGateway(h.gw.gateway.store, goodClaims({ iat: now - 7_200, nbf: now - 7_200, exp: now - 60 }))}`, "expired");
  });

  test("not yet valid (beyond the 30 s clock skew)", async () => {
    const now = Math.floor(Date.now() / 1_000);
    await expectRefused(h, `Bearer ${await signAsGateway(h.gw.gateway.store, goodClaims({ nbf: now + 120 }))}`, "not_yet_valid");
  });

  test("absurd times, correctly signed: an exp of 1e20, an iat in the future, a life longer than the gateway ever issues", async () => {
    const now = Math.floor(Date.now() / 1_000);
    await expectRefused(h, `Bearer ${await signAsGateway(h.gw.gateway.store, goodClaims({ exp: 1e20 }))}`, "lifetime_too_long");
    await expectRefused(h, `Bearer ${await signAsGateway(h.gw.gateway.store, goodClaims({ iat: undefined, exp: now + 400 * 86_400 }))}`, "lifetime_too_long");
    await expectRefused(h, `Bearer ${await signAsGateway(h.gw.gateway.store, goodClaims({ iat: now + 3_600 }))}`, "issued_in_future");
    // The longest token `mcpgw token issue` makes (366 d) still passes, as does an iat within the skew.
    await expectAccepted(h.gw, await signAsGateway(h.gw.gateway.store, goodClaims({ exp: now + 366 * 86_400 })));
    await expectAccepted(h.gw, await signAsGateway(h.gw.gateway.store, goodClaims({ iat: now + 10 })));
  });

  test("within the clock skew, a just-expired token still passes", async () => {
    const now = Math.floor(Date.now() / 1_000);
    await expectAccepted(h.gw, await signAsGateway(h.gw.gateway.store, goodClaims({ exp: now - 5 })));
  });

  test("wrong issuer", async () => {
    await expectRefused(h, `Bearer ${await signAsGateway(h.gw.gateway.store, goodClaims({ iss: "https://evil.example.com" }))}`, "wrong_issuer");
  });

  test("wrong audience", async () => {
    await expectRefused(h, `Bearer ${await signAsGateway(h.gw.gateway.store, goodClaims({ aud: "some-other-service" }))}`, "wrong_audience");
  });

  test("unknown kid", async () => {
    const stranger = await freshKey("no-such-key");
    await expectRefused(h, `Bearer ${await signJwt(stranger.privateJwk, goodClaims())}`, "unknown_kid");
  });

  test("missing claims: no exp, no sub", async () => {
    const { exp: _exp, ...noExp } = goodClaims();
    await expectRefused(h, `Bearer ${await signAsGateway(h.gw.gateway.store, noExp)}`, "missing_claim");
    const { sub: _sub, ...noSub } = goodClaims();
    await expectRefused(h, `Bearer ${await signAsGateway(h.gw.gateway.store, noSub)}`, "missing_claim");
  });

  test("oversized token header, refused before it is parsed", async () => {
    await expectRefused(h, `Bearer ${"A".repeat(9_000)}`, "oversized");
    const huge = await signAsGateway(h.gw.gateway.store, goodClaims({ padding: "x".repeat(9_000) }));
    await expectRefused(h, `Bearer ${huge}`, "oversized");
  });

  test("revoked while the gateway runs (mcpgw token revoke): refused within 1 s, though cached", async () => {
    const { token, record } = await issueToken(h.gw.gateway.store, AUTH, { subject: "carol", roles: [], ttlMs: 3_600_000 });
    await expectAccepted(h.gw, token); // now in the verified-token cache
    await expectAccepted(h.gw, token);
    const revoked = await runCli(["--db", dbOf(h.gw.gateway.store), "token", "revoke", record.jti]);
    expect(revoked.code, revoked.stderr).toBe(0);
    const { ms } = await refusedWithin(h.gw, token, REVOCATION_BOUND_MS);
    expect(ms).toBeLessThan(REVOCATION_BOUND_MS);
    await expectRefused(h, `Bearer ${token}`, "revoked");
  });

  test("a token of a retired key is refused within 1 s; tokens of the new key pass", async () => {
    const store = h.gw.gateway.store;
    const old = await issueToken(store, AUTH, { subject: "dave", roles: [], ttlMs: 3_600_000 });
    await expectAccepted(h.gw, old.token);
    const rotated = await runCli(["--db", dbOf(store), "key", "rotate"]);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.stderr).toContain(`mcpgw key retire ${old.kid}`);
    // The old key keeps verifying until it is retired.
    await expectAccepted(h.gw, old.token);
    const fresh = await issueToken(store, AUTH, { subject: "dave", roles: [], ttlMs: 3_600_000 });
    expect(fresh.kid).not.toBe(old.kid);
    const retired = await runCli(["--db", dbOf(store), "key", "retire", old.kid]);
    expect(retired.code, retired.stderr).toBe(0);
    const { ms } = await refusedWithin(h.gw, old.token, REVOCATION_BOUND_MS);
    expect(ms).toBeLessThan(REVOCATION_BOUND_MS);
    await expectRefused(h, `Bearer ${old.token}`, "retired_key");
    await expectAccepted(h.gw, fresh.token);
    // Its public key has left the JWKS.
    const jwks = (await (await fetch(new URL("/.well-known/jwks.json", h.gw.base))).json()) as { keys: JWK[] };
    expect(jwks.keys.map((k) => k.kid)).toEqual([fresh.kid]);
  });

  test("a session belongs to its subject: another subject's valid token gets 404, as for an unknown session", async () => {
    const store = h.gw.gateway.store;
    const alice = (await issueToken(store, AUTH, { subject: "alice", roles: [], ttlMs: 60_000 })).token;
    const alice2 = (await issueToken(store, AUTH, { subject: "alice", roles: [], ttlMs: 60_000 })).token;
    const bob = (await issueToken(store, AUTH, { subject: "bob", roles: [], ttlMs: 60_000 })).token;
    const opened = await postInitialize(h.gw.mcpUrl(), `Bearer ${alice}`);
    expect(opened.status).toBe(200);
    const sessionId = opened.headers.get("mcp-session-id")!;
    await opened.body?.cancel();
    const ping = (token: string) =>
      fetch(h.gw.mcpUrl(), {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          authorization: `Bearer ${token}`,
          "mcp-session-id": sessionId,
          "mcp-protocol-version": "2025-11-25",
        },
        body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "ping" }),
      });
    const asBob = await ping(bob);
    expect(asBob.status).toBe(404);
    expect(await asBob.text()).toContain("Session not found");
    const asAlice = await ping(alice2);
    expect(asAlice.status).toBe(200);
    expect(await asAlice.json()).toMatchObject({ id: 2, result: {} });
    const deleteAsBob = await fetch(h.gw.mcpUrl(), { method: "DELETE", headers: { authorization: `Bearer ${bob}`, "mcp-session-id": sessionId } });
    expect(deleteAsBob.status).toBe(404);
    // Without a token the session id alone opens nothing.
    const anonymous = await fetch(h.gw.mcpUrl(), { method: "GET", headers: { accept: "text/event-stream", "mcp-session-id": sessionId } });
    expect(anonymous.status).toBe(401);
  });

  test("an open server-to-client stream ends within 1 s when its token is revoked", async () => {
    const { token, record } = await issueToken(h.gw.gateway.store, AUTH, { subject: "frank", roles: [], ttlMs: 3_600_000 });
    const opened = await postInitialize(h.gw.mcpUrl(), `Bearer ${token}`);
    const sessionId = opened.headers.get("mcp-session-id")!;
    await opened.body?.cancel();
    // Bun's fetch resolves at the stream's first bytes (the GET stream sends none until it has
    // something): start it, give the gateway a moment to accept it, then revoke.
    const streaming = fetch(h.gw.mcpUrl(), {
      headers: { accept: "text/event-stream", authorization: `Bearer ${token}`, "mcp-session-id": sessionId, "mcp-protocol-version": "2025-11-25" },
    });
    await Bun.sleep(200);
    await h.gw.gateway.store.tokens.revoke(record.jti, Date.now());
    const started = performance.now();
    const ended = await Promise.race([
      (async () => {
        const stream = await streaming;
        expect(stream.status).toBe(200);
        const reader = stream.body!.getReader();
        for (;;) if ((await reader.read()).done) return true;
      })(),
      Bun.sleep(REVOCATION_BOUND_MS * 3).then(() => false),
    ]);
    expect(ended).toBe(true);
    expect(performance.now() - started).toBeLessThan(REVOCATION_BOUND_MS);
    // Reopening it with the revoked token is refused.
    const again = await fetch(h.gw.mcpUrl(), { headers: { accept: "text/event-stream", authorization: `Bearer ${token}`, "mcp-session-id": sessionId } });
    expect(again.status).toBe(401);
  });

  test("health, readiness and the key set stay open; the metadata says there is no authorization server", async () => {
    for (const path of ["/healthz", "/readyz", "/.well-known/jwks.json"]) {
      expect((await fetch(new URL(path, h.gw.base))).status, path).toBe(200);
    }
    for (const path of ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"]) {
      const response = await fetch(new URL(path, h.gw.base));
      expect(response.status, path).toBe(404);
      expect(((await response.json()) as { error_description: string }).error_description).toContain("mcpgw token issue");
    }
  });
});

describe("an HS256 shared secret (MCPGW_JWT_SECRET)", () => {
  const SECRET = "0123456789abcdef0123456789abcdef-shared";
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ jwtSecret: SECRET });
  });
  afterAll(async () => h?.gw.stop());

  const hs = (alg: string, claims = goodClaims(), secret = SECRET) =>
    new SignJWT(claims).setProtectedHeader({ alg, typ: "JWT" }).sign(new TextEncoder().encode(secret));

  test("MCPGW_JWT_MAX_LIFETIME lowers the longest life a token may have", async () => {
    const strict = await startHarness({ jwtMaxLifetime: "1h" });
    try {
      const now = Math.floor(Date.now() / 1_000);
      await expectAccepted(strict.gw, await signAsGateway(strict.gw.gateway.store, goodClaims({ exp: now + 3_000 })));
      await expectRefused(strict, `Bearer ${await signAsGateway(strict.gw.gateway.store, goodClaims({ exp: now + 7_200 }))}`, "lifetime_too_long");
    } finally {
      await strict.gw.stop();
    }
  });

  test("verifies HS256 tokens made with the secret, and nothing else symmetric", async () => {
    await expectAccepted(h.gw, await hs("HS256"));
    await expectRefused(h, `Bearer ${await hs("HS256", goodClaims(), "another-secret-another-secret-xx")}`, "bad_signature");
    await expectRefused(h, `Bearer ${await hs("HS512")}`, "algorithm_not_allowed");
    const key = activeKey(await h.gw.gateway.store.signingKeys.list())!;
    // The gateway's public key is never an HMAC secret, even when HMAC is enabled.
    await expectRefused(h, `Bearer ${await hmacWithPublicKey(key.publicJwk, goodClaims(), key.kid)}`, "algorithm_confusion");
    await expectRefused(h, `Bearer ${await hs("HS256", goodClaims({ aud: "elsewhere" }))}`, "wrong_audience");
  });
});

describe("revocation across two gateways sharing PostgreSQL", () => {
  let schema: IsolatedSchema | undefined;
  let first: Harness;
  let second: Harness;

  beforeAll(async () => {
    if (!(await postgresAvailable())) return;
    schema = await isolatedSchema("auth_revoke");
    // Started together on an empty schema: one signing key must come out of it.
    [first, second] = await Promise.all([startHarness({}, schema.url), startHarness({}, schema.url)]);
  });
  afterAll(async () => {
    await first?.gw.stop();
    await second?.gw.stop();
    await schema?.drop();
  });

  test("two gateways started at once share one signing key", async (context) => {
    if (!schema) return context.skip();
    const keys = await first.gw.gateway.store.signingKeys.list();
    expect(keys).toHaveLength(1);
  });

  test("mcpgw token revoke is honoured by both within 1 s", async (context) => {
    if (!schema) return context.skip();
    const issued = await runCli(["--db", schema.url, "token", "issue", "--sub", "erin", "--json"]);
    expect(issued.code, issued.stderr).toBe(0);
    const { token, jti } = JSON.parse(issued.stdout) as { token: string; jti: string };
    await expectAccepted(first.gw, token);
    await expectAccepted(second.gw, token);
    const revoked = await runCli(["--db", schema.url, "token", "revoke", jti]);
    expect(revoked.code, revoked.stderr).toBe(0);
    const [a, b] = await Promise.all([refusedWithin(first.gw, token, REVOCATION_BOUND_MS), refusedWithin(second.gw, token, REVOCATION_BOUND_MS)]);
    expect(a.ms).toBeLessThan(REVOCATION_BOUND_MS);
    expect(b.ms).toBeLessThan(REVOCATION_BOUND_MS);
    expect(a.description).toContain("revoked");
    await expectRefused(second, `Bearer ${token}`, "revoked");
  });
});
