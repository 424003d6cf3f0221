import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { type OAuthClientProvider, auth, discoverOAuthProtectedResourceMetadata, extractWWWAuthenticateParams } from "@modelcontextprotocol/sdk/client/auth.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { OAuthProtectedResourceMetadataSchema } from "@modelcontextprotocol/sdk/shared/auth.js";
import { type JWK, createLocalJWKSet, jwtVerify } from "jose";
import { issueToken } from "../src/auth/token-issuer.ts";
import { parsePermission } from "../src/policy/permission.ts";
import { capturingLogger, postInitialize } from "./helpers/auth-tokens.ts";
import { REPO_ROOT } from "./helpers/cli.ts";
import { BUN, type TestGateway, connectClient, startTestGateway, listAllTools } from "./helpers/gateway.ts";

const AUTH = { tokenIssuer: "mcpgw", tokenAudience: "mcpgw", signingAlg: "EdDSA" as const };
const LAB = { name: "lab", command: [BUN, join(REPO_ROOT, "test/fixtures/lab-server.ts"), "--stdio"], env: { LAB_NAME: "lab" } };
const ALLOW_ALL = { name: "agents", rules: [{ effect: "allow" as const, permission: parsePermission("*") }] };

/**
 * An HTTP backend (the lab server's tools) that records the headers of every request it gets,
 * to prove what the gateway sends it: its own configured credentials, never the client's token.
 */
async function recordingBackend(): Promise<{ url: string; seen: Headers[]; stop(): Promise<void> }> {
  process.env.LAB_NAME ??= "http-lab";
  const { createLabServer } = await import("./fixtures/lab-server.ts");
  const seen: Headers[] = [];
  const sessions = new Map<string, WebStandardStreamableHTTPServerTransport>();
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(request) {
      seen.push(request.headers);
      const id = request.headers.get("mcp-session-id");
      const existing = id ? sessions.get(id) : undefined;
      if (existing) return existing.handleRequest(request);
      if (id) return new Response("unknown session", { status: 404 });
      const transport = new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator: () => crypto.randomUUID(),
        onsessioninitialized: (sid) => void sessions.set(sid, transport),
      });
      await createLabServer().connect(transport);
      return transport.handleRequest(request);
    },
  });
  return { url: `http://127.0.0.1:${server.port}/mcp`, seen, stop: () => server.stop(true) };
}

describe("RFC 9728 metadata, the WWW-Authenticate challenge and the SDK client (MCP 2025-11-25 basic/authorization)", () => {
  let gw: TestGateway;
  let backend: Awaited<ReturnType<typeof recordingBackend>>;
  let token: string;

  beforeAll(async () => {
    backend = await recordingBackend();
    gw = await startTestGateway(
      [LAB, { name: "remote", url: backend.url, headers: { "X-Backend-Key": "backend-own-credential" } }],
      { auth: "required" },
      { prepare: (store) => store.roles.create(ALLOW_ALL) },
    );
    token = (await issueToken(gw.gateway.store, AUTH, { subject: "agent-7", roles: ["agents"], ttlMs: 600_000 })).token;
  });
  afterAll(async () => {
    await gw?.stop();
    await backend?.stop();
  });

  test("without an authorization server there is no metadata document; OAuth endpoints say how to get a token", async () => {
    for (const path of [
      "/.well-known/oauth-protected-resource",
      "/.well-known/oauth-protected-resource/mcp/lab",
      "/.well-known/oauth-authorization-server",
      "/.well-known/openid-configuration",
      "/authorize",
      "/token",
    ]) {
      const response = await fetch(new URL(path, gw.base));
      expect(response.status, path).toBe(404);
      const body = (await response.json()) as { error: string; error_description: string };
      expect(body.error).toBe("invalid_request");
      expect(body.error_description).toContain("not an OAuth authorization server");
      expect(body.error_description).toContain("mcpgw token issue --sub YOU --role ROLE");
    }
    const register = await fetch(new URL("/register", gw.base), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ redirect_uris: ["http://127.0.0.1:1/cb"] }),
    });
    expect(register.status).toBe(404);
    expect(((await register.json()) as { error_description: string }).error_description).toContain("mcpgw client config --client CLIENT --sub YOU");
    // The key set stays public: backends and tools verify the gateway's tokens with it.
    expect((await fetch(new URL("/.well-known/jwks.json", gw.base))).status).toBe(200);
  });

  test("a 401 says what was wrong and how to get a token, with no metadata to follow", async () => {
    const response = await postInitialize(gw.mcpUrl("lab"));
    expect(response.status).toBe(401);
    const challenge = response.headers.get("www-authenticate") ?? "";
    expect(challenge).toMatch(/^Bearer realm="mcpgw", error_description="missing_token: [^"]*mcpgw token issue[^"]*"$/);
    const { resourceMetadataUrl, error } = extractWWWAuthenticateParams(response);
    expect(resourceMetadataUrl).toBeUndefined();
    expect(error).toBeUndefined();
    const body = (await response.json()) as { error: { message: string } };
    expect(body.error.message).toContain("this gateway is not an OAuth authorization server: ask the gateway's operator for a token");

    const bad = await postInitialize(gw.mcpUrl("lab"), "Bearer nonsense");
    expect(extractWWWAuthenticateParams(bad).error).toBe("invalid_token");
    expect(bad.headers.get("www-authenticate")).toContain("mcpgw token issue");
  });

  test("an OAuth client (the SDK's auth flow, as mcp-remote runs it) ends with the gateway's instructions, not 'HTTP 404'", async () => {
    const provider: OAuthClientProvider = {
      get redirectUrl() {
        return "http://127.0.0.1:1/callback";
      },
      get clientMetadata() {
        return { redirect_uris: ["http://127.0.0.1:1/callback"], client_name: "probe" };
      },
      clientInformation: () => undefined,
      saveClientInformation: () => undefined,
      tokens: () => undefined,
      saveTokens: () => undefined,
      redirectToAuthorization: () => undefined,
      saveCodeVerifier: () => undefined,
      codeVerifier: () => "",
    };
    const failure = await auth(provider, { serverUrl: gw.mcpUrl("lab") }).then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    expect(failure?.message).toContain("mcpgw token issue --sub YOU --role ROLE");
  });

  test("the SDK's own Client, given the token in requestInit headers, works unmodified", async () => {
    const transport = new StreamableHTTPClientTransport(gw.mcpUrl(), { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
    const client = new Client({ name: "unmodified-sdk-client", version: "1.0.0" });
    await client.connect(transport);
    try {
      const tools = await listAllTools(client);
      expect(tools).toContain("lab__echo");
      expect(tools).toContain("remote__echo");
      const local = await client.callTool({ name: "lab__echo", arguments: { text: "over stdio" } });
      expect(local.structuredContent).toMatchObject({ text: "over stdio" });
      const remote = await client.callTool({ name: "remote__echo", arguments: { text: "over http" } });
      expect(remote.structuredContent).toMatchObject({ text: "over http" });
      await transport.terminateSession(); // DELETE, authenticated too
    } finally {
      await client.close();
    }
  });

  test("without the token the SDK client is refused at connect", async () => {
    await expect(connectClient(gw.mcpUrl())).rejects.toThrow();
  });

  test("the client's token never reaches a backend; the backend's own credential does", () => {
    expect(backend.seen.length).toBeGreaterThan(0);
    for (const headers of backend.seen) {
      expect(headers.get("authorization")).toBeNull();
      expect(headers.get("x-backend-key")).toBe("backend-own-credential");
    }
    expect(JSON.stringify(backend.seen.map((h) => Object.fromEntries(h)))).not.toContain(token.split(".")[2]!);
  });

  test("/.well-known/jwks.json publishes public keys only, and they verify the gateway's tokens", async () => {
    const jwks = (await (await fetch(new URL("/.well-known/jwks.json", gw.base))).json()) as { keys: JWK[] };
    expect(jwks.keys.length).toBeGreaterThan(0);
    for (const key of jwks.keys) {
      expect(key).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA", use: "sig" });
      expect(key.kid).toBeTruthy();
      expect(key).not.toHaveProperty("d");
    }
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer: "mcpgw", audience: "mcpgw" });
    expect(payload).toMatchObject({ sub: "agent-7", roles: ["agents"] });
  });
});

describe("MCPGW_PUBLIC_URL and MCPGW_AUTHORIZATION_SERVERS", () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway([LAB], { auth: "required", publicUrl: "https://mcp.example.com", authorizationServers: "https://login.example.com/realms/a" });
  });
  afterAll(async () => gw?.stop());

  test("the root document: resource, authorization_servers, bearer_methods_supported, jwks_uri", async () => {
    const response = await fetch(new URL("/.well-known/oauth-protected-resource", gw.base));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    const document = await response.json();
    expect(document).toEqual({
      resource: "https://mcp.example.com",
      authorization_servers: ["https://login.example.com/realms/a"],
      bearer_methods_supported: ["header"],
      jwks_uri: "https://mcp.example.com/.well-known/jwks.json",
      resource_name: "mcpgw",
    });
    expect(OAuthProtectedResourceMetadataSchema.safeParse(document).success).toBe(true);
  });

  test("path variants name the endpoint they were looked up for (RFC 9728 §3.3); others are 404", async () => {
    for (const path of ["/mcp", "/mcp/lab"]) {
      const document = (await (await fetch(new URL(`/.well-known/oauth-protected-resource${path}`, gw.base))).json()) as { resource: string };
      expect(document.resource).toBe(`https://mcp.example.com${path}`);
    }
    expect((await fetch(new URL("/.well-known/oauth-protected-resource/admin", gw.base))).status).toBe(404);
    expect((await fetch(new URL("/.well-known/oauth-protected-resource", gw.base), { method: "POST" })).status).toBe(405);
  });

  test("a 401 carries the challenge the SDK parses, and the SDK's discovery finds the document", async () => {
    const response = await postInitialize(gw.mcpUrl("lab"));
    expect(response.status).toBe(401);
    // A client that speaks OAuth follows the metadata to the identity provider; no description for a missing token (RFC 6750 §3.1).
    expect(response.headers.get("www-authenticate")).toBe(
      'Bearer realm="mcpgw", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource"',
    );
    const { resourceMetadataUrl, error } = extractWWWAuthenticateParams(response);
    expect(resourceMetadataUrl?.href).toBe("https://mcp.example.com/.well-known/oauth-protected-resource");
    expect(error).toBeUndefined();
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain("sign in at https://login.example.com/realms/a (OAuth)");

    const bad = await postInitialize(gw.mcpUrl("lab"), "Bearer nonsense");
    expect(extractWWWAuthenticateParams(bad).error).toBe("invalid_token");

    // The SDK client's own fallback order: /.well-known/oauth-protected-resource/mcp/lab, then the root.
    const discovered = await discoverOAuthProtectedResourceMetadata(gw.mcpUrl("lab"));
    expect(discovered.resource).toBe("https://mcp.example.com/mcp/lab");
  });

  test("name the public origin and the configured servers, in the document and the challenge", async () => {
    const document = await (await fetch(new URL("/.well-known/oauth-protected-resource/mcp", gw.base))).json();
    expect(document).toMatchObject({
      resource: "https://mcp.example.com/mcp",
      authorization_servers: ["https://login.example.com/realms/a"],
      jwks_uri: "https://mcp.example.com/.well-known/jwks.json",
    });
    const response = await postInitialize(gw.mcpUrl());
    expect(response.headers.get("www-authenticate")).toBe(
      'Bearer realm="mcpgw", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource"',
    );
  });
});

describe("MCPGW_AUTH=off", () => {
  const { logger, records } = capturingLogger("warn");
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway([LAB], { auth: "off" }, { logger });
  });
  afterAll(async () => gw?.stop());

  test("lets anonymous callers in, after a loud warning at start", async () => {
    expect(records.some((r) => r.level === 40 && String(r.msg).includes("AUTHENTICATION IS OFF"))).toBe(true);
    const client = await connectClient(gw.mcpUrl("lab"));
    try {
      const result = await client.callTool({ name: "echo", arguments: { text: "anyone" } });
      expect(result.structuredContent).toMatchObject({ text: "anyone" });
    } finally {
      await client.close();
    }
  });
});
