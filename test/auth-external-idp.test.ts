import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { JWK, JWTPayload } from "jose";
import { parsePermission } from "../src/policy/permission.ts";
import { CapturingAuditor, capturingLogger, freshKey, postInitialize, signAsGateway, signJwt, goodClaims } from "./helpers/auth-tokens.ts";
import { REPO_ROOT } from "./helpers/cli.ts";
import { BUN, type TestGateway, connectClient, startTestGateway } from "./helpers/gateway.ts";

const ISSUER = "https://idp.test/realms/agents";
const AUDIENCE = "mcpgw-test";
const COOLDOWN_MS = 500;
const LAB = { name: "lab", command: [BUN, join(REPO_ROOT, "test/fixtures/lab-server.ts"), "--stdio"], env: { LAB_NAME: "lab" } };

/** A tiny identity provider: a JWKS at /jwks.json whose keys the test rotates, counting fetches. */
class LocalIdp {
  published: JWK[] = [];
  fetches = 0;
  private readonly server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (request) => {
      if (new URL(request.url).pathname !== "/jwks.json") return new Response("not found", { status: 404 });
      this.fetches += 1;
      return Response.json({ keys: this.published });
    },
  });

  get jwksUrl(): string {
    return `http://127.0.0.1:${this.server.port}/jwks.json`;
  }

  stop(): Promise<void> {
    return this.server.stop(true);
  }
}

/** Claims as a Keycloak-like provider writes them: subject in email, roles nested, groups beside. */
function idpClaims(overrides: JWTPayload = {}): JWTPayload {
  const now = Math.floor(Date.now() / 1_000);
  return {
    iss: ISSUER,
    aud: [AUDIENCE, "account"],
    sub: "f3a9-uuid",
    email: "alice@example.com",
    realm_access: { roles: ["mcp-users", "offline_access"] },
    groups: ["ignored"],
    iat: now,
    exp: now + 600,
    ...overrides,
  };
}

describe("tokens from an external identity provider (JWKS served by a local HTTP server)", () => {
  const idp = new LocalIdp();
  const auditor = new CapturingAuditor();
  const { logger, records } = capturingLogger();
  let gw: TestGateway;
  let current: { privateJwk: JWK; publicJwk: JWK };

  beforeAll(async () => {
    current = await freshKey("idp-key-1", "RS256");
    idp.published = [current.publicJwk];
    gw = await startTestGateway(
      [LAB],
      {
        auth: "required",
        jwtJwksUrl: idp.jwksUrl,
        jwtIssuer: ISSUER,
        jwtAudience: AUDIENCE,
        jwtSubjectClaim: "email",
        jwtRolesClaim: "realm_access.roles,groups",
        jwtJwksCooldown: `${COOLDOWN_MS}ms`,
      },
      {
        auditor,
        logger,
        prepare: (store) => store.roles.create({ name: "mcp-users", rules: [{ effect: "allow", permission: parsePermission("lab/echo") }] }),
      },
    );
  });
  afterAll(async () => {
    await gw?.stop();
    await idp.stop();
  });

  test("an IdP token works with the SDK client; subject and roles come from the configured claims", async () => {
    const token = await signJwt(current.privateJwk, idpClaims());
    const client = await connectClient(gw.mcpUrl(), {}, "idp-client", { token });
    try {
      const result = await client.callTool({ name: "lab__echo", arguments: { text: "hi" } });
      expect(result.structuredContent).toMatchObject({ text: "hi", label: "lab" });
      const call = auditor.calls.find((c) => c.context.target === "echo");
      expect(call?.context).toMatchObject({ subject: "alice@example.com", roles: ["mcp-users", "offline_access"], backend: "lab" });
      // The roles claim decided policy: echo is allowed, sleep is not.
      await expect(client.callTool({ name: "lab__sleep", arguments: { ms: 1 } })).rejects.toThrow(/denied by policy/);
    } finally {
      await client.close();
    }
    expect(idp.fetches).toBe(1);
  });

  test("the fallback roles claim (groups) is used when the first is absent", async () => {
    const { realm_access: _ignored, ...claims } = idpClaims({ groups: ["mcp-users"] });
    const client = await connectClient(gw.mcpUrl(), {}, "groups-client", { token: await signJwt(current.privateJwk, claims) });
    try {
      await client.callTool({ name: "lab__echo", arguments: { text: "via groups" } });
      expect(auditor.calls.at(-1)?.context).toMatchObject({ subject: "alice@example.com", roles: ["mcp-users"] });
    } finally {
      await client.close();
    }
  });

  test("the IdP's issuer and audience are enforced; the gateway's own tokens still pass", async () => {
    for (const [claims, reason] of [
      [idpClaims({ iss: "https://other-idp.test" }), "wrong_issuer"],
      [idpClaims({ aud: "someone-else" }), "wrong_audience"],
      [idpClaims({ exp: Math.floor(Date.now() / 1_000) - 120 }), "expired"],
    ] as const) {
      const response = await postInitialize(gw.mcpUrl(), `Bearer ${await signJwt(current.privateJwk, claims)}`);
      expect(response.status).toBe(401);
      expect(response.headers.get("www-authenticate")).toContain(`error_description="${reason}:`);
    }
    const { email: _email, ...noSubject } = idpClaims();
    const missing = await postInitialize(gw.mcpUrl(), `Bearer ${await signJwt(current.privateJwk, noSubject)}`);
    expect(missing.headers.get("www-authenticate")).toContain(`error_description="missing_claim: the token has no 'email' claim (the subject): sign in at `);
    const own = await postInitialize(gw.mcpUrl(), `Bearer ${await signAsGateway(gw.gateway.store, goodClaims())}`);
    expect(own.status).toBe(200);
    await own.body?.cancel();
  });

  test("key rotation at the IdP (new kid) is picked up without a restart; a kid nobody publishes is refused", async () => {
    const next = await freshKey("idp-key-2", "ES256");
    idp.published = [current.publicJwk, next.publicJwk];
    const fetchesBefore = idp.fetches;
    const token = await signJwt(next.privateJwk, idpClaims({ email: "bob@example.com" }));
    // Within the cooldown after the last fetch an unknown kid is refused without asking the IdP;
    // after it, the JWKS is fetched again and the new key verifies.
    const deadline = Date.now() + COOLDOWN_MS * 4 + 2_000;
    let status = 0;
    while (Date.now() < deadline) {
      const response = await postInitialize(gw.mcpUrl(), `Bearer ${token}`);
      status = response.status;
      await response.body?.cancel();
      if (status === 200) break;
      await Bun.sleep(100);
    }
    expect(status).toBe(200);
    expect(idp.fetches).toBeGreaterThan(fetchesBefore);
    expect(idp.fetches - fetchesBefore).toBeLessThanOrEqual(Math.ceil((COOLDOWN_MS * 4 + 2_000) / COOLDOWN_MS));

    // The old key is withdrawn at the IdP; a token naming a kid nobody publishes is refused.
    const stranger = await freshKey("idp-key-unknown", "RS256");
    await Bun.sleep(COOLDOWN_MS + 50);
    const unknown = await postInitialize(gw.mcpUrl(), `Bearer ${await signJwt(stranger.privateJwk, idpClaims())}`);
    expect(unknown.status).toBe(401);
    expect(unknown.headers.get("www-authenticate")).toContain('error_description="unknown_kid:');
    expect(records.some((r) => r.msg === "request unauthenticated" && r.reason === "unknown_kid")).toBe(true);
    expect(auditor.refusals.some((r) => r.outcome.rule === "unknown_kid" && r.outcome.status === "unauthenticated")).toBe(true);
  });

  test("HS256 with the IdP's key id is algorithm confusion, not a lookup", async () => {
    const { SignJWT } = await import("jose");
    const forged = await new SignJWT(idpClaims())
      .setProtectedHeader({ alg: "HS256", kid: "idp-key-1" })
      .sign(new TextEncoder().encode(JSON.stringify(current.publicJwk)));
    const response = await postInitialize(gw.mcpUrl(), `Bearer ${forged}`);
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toContain('error_description="algorithm_confusion:');
  });
});

describe("an identity provider that cannot be reached", () => {
  let gw: TestGateway;

  beforeAll(async () => {
    const idp = new LocalIdp();
    const url = idp.jwksUrl;
    await idp.stop();
    gw = await startTestGateway([LAB], { auth: "required", jwtJwksUrl: url, jwtIssuer: ISSUER, jwtAudience: AUDIENCE });
  });
  afterAll(async () => gw?.stop());

  test("answers 503 with Retry-After (not the client's fault), and says why", async () => {
    const key = await freshKey("k", "RS256");
    const response = await postInitialize(gw.mcpUrl(), `Bearer ${await signJwt(key.privateJwk, idpClaims())}`);
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("5");
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(
      /key_source_unavailable: the identity provider's JWKS could not be used/,
    );
  });
});
