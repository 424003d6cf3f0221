import { join } from "node:path";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { issueToken } from "../src/auth/token-issuer.ts";
import { parsePermission } from "../src/policy/permission.ts";
import { REPO_ROOT } from "./helpers/cli.ts";
import { BUN, type TestGateway, conformanceFixtureStdio, everythingStdio, startTestGateway } from "./helpers/gateway.ts";

/**
 * MCP 2026-07-28 at the front (issue 14): stateless requests beside 2025 sessions on the same
 * endpoints, checked as the revision requires (version, _meta, mirrored headers), authenticated,
 * authorised, audited per request, and answered with what the revision adds to results.
 */
const AUTH = { tokenIssuer: "mcpgw", tokenAudience: "mcpgw", signingAlg: "EdDSA" as const };
const LAB = (name: string) => ({ name, command: [BUN, join(REPO_ROOT, "test/fixtures/lab-server.ts"), "--stdio"], env: { LAB_NAME: name } });
const VERSION = "2026-07-28";

const meta = (extra: Record<string, unknown> = {}) => ({
  "io.modelcontextprotocol/protocolVersion": VERSION,
  "io.modelcontextprotocol/clientCapabilities": {},
  "io.modelcontextprotocol/clientInfo": { name: "raw", version: "1" },
  ...extra,
});

interface RawAnswer {
  status: number;
  headers: Headers;
  body: { id?: unknown; result?: Record<string, unknown>; error?: { code: number; message: string; data?: unknown } };
}

describe("MCP 2026-07-28 requests at the front", () => {
  let gw: TestGateway;
  let token = "";
  let narrowToken = "";

  beforeAll(async () => {
    gw = await startTestGateway(
      [LAB("alpha"), LAB("beta"), { name: "everything", command: everythingStdio() }, { name: "fixture", command: conformanceFixtureStdio() }],
      { auth: "required", authorizationServers: "https://login.example.com/realms/agents" },
      {
        prepare: async (store) => {
          await store.roles.create({
            name: "all",
            rules: ["*", "prompt:*/*", "resource:*/*"].map((p) => ({ effect: "allow" as const, permission: parsePermission(p) })),
          });
          await store.roles.create({ name: "echo-only", rules: [{ effect: "allow", permission: parsePermission("alpha/echo") }] });
          token = (await issueToken(store, AUTH, { subject: "modern-agent", roles: ["all"], ttlMs: 600_000 })).token;
          narrowToken = (await issueToken(store, AUTH, { subject: "narrow-agent", roles: ["echo-only"], ttlMs: 600_000 })).token;
        },
      },
    );
  }, 60_000);
  afterAll(async () => gw?.stop());

  /** POSTs one modern request with the headers a 2026-07-28 client sends, overridable. */
  async function post(path: string, body: Record<string, unknown>, headers: Record<string, string | undefined> = {}): Promise<RawAnswer> {
    const params = (body.params ?? {}) as Record<string, unknown>;
    const name = params.name ?? params.uri;
    const all: Record<string, string | undefined> = {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": VERSION,
      "mcp-method": String(body.method),
      ...(typeof name === "string" && { "mcp-name": name }),
      ...headers,
    };
    const response = await fetch(new URL(path, gw.base), {
      method: "POST",
      headers: Object.fromEntries(Object.entries(all).filter((e): e is [string, string] => e[1] !== undefined)),
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, ...body }),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : {} };
  }

  function modernClient(path: string, bearer = token): Promise<Client> {
    const client = new Client({ name: "modern-test", version: "1.0.0" }, { capabilities: {}, versionNegotiation: { mode: { pin: VERSION } } });
    return client.connect(new StreamableHTTPClientTransport(new URL(path, gw.base), { authProvider: { token: async () => bearer } })).then(() => client);
  }

  test("a v2 client pinned to 2026-07-28 lists and calls through /mcp/<backend>: no session, results carry resultType and serverInfo", async () => {
    const client = await modernClient("/mcp/alpha");
    try {
      expect(client.getProtocolEra()).toBe("modern");
      expect(client.getNegotiatedProtocolVersion()).toBe(VERSION);
      const tools = await client.listTools();
      expect(tools.tools.map((t) => t.name)).toContain("echo");
      const result = await client.callTool({ name: "echo", arguments: { text: "hi" } });
      expect(result.content).toEqual([{ type: "text", text: "alpha: hi" }]);
      const prompt = await client.getPrompt({ name: "lab-greeting", arguments: { who: "ada" } });
      expect(JSON.stringify(prompt.messages)).toContain("hello ada, from alpha");
      const read = await client.readResource({ uri: "lab://welcome" });
      expect(read.contents[0]).toMatchObject({ text: "welcome from alpha" });
    } finally {
      await client.close();
    }
    const raw = await post("/mcp/alpha", { method: "tools/call", params: { name: "echo", arguments: { text: "raw" }, _meta: meta() } });
    expect(raw.status).toBe(200);
    expect(raw.headers.get("mcp-session-id")).toBeNull();
    expect(raw.body.result).toMatchObject({ resultType: "complete", _meta: { "io.modelcontextprotocol/serverInfo": { name: "mcpgw" } } });
    const list = await post("/mcp/alpha", { method: "tools/list", params: { _meta: meta() } });
    // The list is filtered by the caller's roles: no cache may share it with another caller.
    expect(list.body.result).toMatchObject({ resultType: "complete", ttlMs: 0, cacheScope: "private" });
  });

  test("on /mcp a modern client sees every backend's tools prefixed, calls each, and gets a merged discover", async () => {
    const client = await modernClient("/mcp");
    try {
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining(["alpha__echo", "beta__echo"]));
      expect((await client.callTool({ name: "beta__echo", arguments: { text: "b" } })).content).toEqual([{ type: "text", text: "beta: b" }]);
      expect((await client.callTool({ name: "alpha__echo", arguments: { text: "a" } })).content).toEqual([{ type: "text", text: "alpha: a" }]);
    } finally {
      await client.close();
    }
    const discover = await post("/mcp", { method: "server/discover", params: { _meta: meta() } });
    expect(discover.status).toBe(200);
    expect(discover.body.result).toMatchObject({ resultType: "complete", cacheScope: "public", capabilities: { tools: {} } });
    expect(discover.body.result?.supportedVersions).toEqual(expect.arrayContaining([VERSION, "2025-11-25"]));
    expect(discover.body.result?.ttlMs).toBeGreaterThan(0);
  });

  test("progress reaches a modern client on its request's event stream, under the client's own token", async () => {
    const client = await modernClient("/mcp/everything");
    try {
      const seen: string[] = [];
      const result = await client.callTool(
        { name: "trigger-long-running-operation", arguments: { duration: 0.3, steps: 3 } },
        { onprogress: (p) => seen.push(`${p.progress}/${p.total}`) },
      );
      expect(seen).toEqual(["1/3", "2/3", "3/3"]);
      expect(JSON.stringify(result.content)).toContain("completed");
    } finally {
      await client.close();
    }
    const response = await fetch(new URL("/mcp/everything", gw.base), {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-protocol-version": VERSION,
        "mcp-method": "tools/call",
        "mcp-name": "trigger-long-running-operation",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 9,
        method: "tools/call",
        params: { name: "trigger-long-running-operation", arguments: { duration: 0.2, steps: 2 }, _meta: meta({ progressToken: "mine" }) },
      }),
    });
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    const events = (await response.text())
      .split("\n\n")
      .filter(Boolean)
      .map((e) => JSON.parse(e.slice(e.indexOf("data: ") + 6)));
    expect(events.slice(0, 2).map((e) => [e.method, e.params.progressToken])).toEqual([
      ["notifications/progress", "mine"],
      ["notifications/progress", "mine"],
    ]);
    expect(events.at(-1)).toMatchObject({ id: 9, result: { resultType: "complete" } });
  });

  test("a header that disagrees with the body: 400, -32020, nothing forwarded", async () => {
    const name = await post("/mcp/alpha", { method: "tools/call", params: { name: "echo", arguments: { text: "x" }, _meta: meta() } }, { "mcp-name": "crash" });
    expect(name.status).toBe(400);
    expect(name.body.error).toMatchObject({ code: -32020 });
    expect(name.body.error?.message).toContain("Mcp-Name header value 'crash' does not match body value 'echo'");
    const method = await post("/mcp/alpha", { method: "tools/list", params: { _meta: meta() } }, { "mcp-method": "TOOLS/LIST" });
    expect(method).toMatchObject({ status: 400, body: { error: { code: -32020 } } });
    const version = await post("/mcp/alpha", { method: "tools/list", params: { _meta: meta() } }, { "mcp-protocol-version": undefined });
    expect(version).toMatchObject({ status: 400, body: { error: { code: -32020 } } });
    const missingName = await post(
      "/mcp/alpha",
      { method: "tools/call", params: { name: "echo", arguments: { text: "x" }, _meta: meta() } },
      { "mcp-name": undefined },
    );
    expect(missingName).toMatchObject({ status: 400, body: { error: { code: -32020 } } });
    // An encoded header is decoded before it is compared.
    const encoded = await post(
      "/mcp/alpha",
      { method: "resources/read", params: { uri: "lab://welcome", _meta: meta() } },
      { "mcp-name": `=?base64?${Buffer.from("lab://welcome").toString("base64")}?=` },
    );
    expect(encoded.status).toBe(200);
    const malformed = await post(
      "/mcp/alpha",
      { method: "resources/read", params: { uri: "lab://welcome", _meta: meta() } },
      { "mcp-name": "=?base64?not base64!?=" },
    );
    expect(malformed).toMatchObject({ status: 400, body: { error: { code: -32020 } } });
  });

  test("an unsupported version: 400, -32022 with the supported versions; a missing capability object: -32602", async () => {
    const future = await post(
      "/mcp/alpha",
      { method: "tools/list", params: { _meta: meta({ "io.modelcontextprotocol/protocolVersion": "2099-01-01" }) } },
      { "mcp-protocol-version": "2099-01-01" },
    );
    expect(future.status).toBe(400);
    expect(future.body.error).toMatchObject({ code: -32022, data: { requested: "2099-01-01" } });
    expect((future.body.error!.data as { supported: string[] }).supported).toEqual(expect.arrayContaining([VERSION, "2025-11-25"]));
    const noCapabilities = await post("/mcp/alpha", { method: "tools/list", params: { _meta: { "io.modelcontextprotocol/protocolVersion": VERSION } } });
    expect(noCapabilities).toMatchObject({ status: 400, body: { error: { code: -32602 } } });
  });

  test("GET and DELETE on a modern request: 405, POST only", async () => {
    for (const method of ["GET", "DELETE"]) {
      const response = await fetch(new URL("/mcp/alpha", gw.base), {
        method,
        headers: { authorization: `Bearer ${token}`, "mcp-protocol-version": VERSION, accept: "text/event-stream" },
      });
      expect(response.status).toBe(405);
      expect(response.headers.get("allow")).toBe("POST");
    }
  });

  test("methods 2026-07-28 removed answer 404, -32601", async () => {
    for (const method of ["ping", "logging/setLevel", "resources/subscribe"]) {
      const answer = await post("/mcp/alpha", { method, params: { _meta: meta(), level: "info", uri: "lab://welcome" } }, { "mcp-name": undefined });
      expect(answer).toMatchObject({ status: 404, body: { error: { code: -32601 } } });
    }
  });

  test("a modern request without a token: 401 with the RFC 9728 metadata", async () => {
    const answer = await post("/mcp/alpha", { method: "tools/list", params: { _meta: meta() } }, { authorization: undefined });
    expect(answer.status).toBe(401);
    // An authorization server is configured here, so the challenge points at the RFC 9728 document.
    expect(answer.headers.get("www-authenticate")).toContain(`resource_metadata="${gw.base}/.well-known/oauth-protected-resource"`);
  });

  test("a tool outside the caller's roles is refused as policy and audited, with the request's protocol version", async () => {
    const denied = await post(
      "/mcp/alpha",
      { method: "tools/call", params: { name: "sleep", arguments: { ms: 1 }, _meta: meta() } },
      { authorization: `Bearer ${narrowToken}` },
    );
    expect(denied.status).toBe(200);
    expect(denied.body.error).toMatchObject({ code: -32012 });
    const allowed = await post(
      "/mcp/alpha",
      { method: "tools/call", params: { name: "echo", arguments: { text: "ok" }, _meta: meta() } },
      { authorization: `Bearer ${narrowToken}` },
    );
    expect(allowed.body.result).toMatchObject({ content: [{ text: "alpha: ok" }] });
    // The narrow caller's list shows only what its role allows.
    const list = await post("/mcp/alpha", { method: "tools/list", params: { _meta: meta() } }, { authorization: `Bearer ${narrowToken}` });
    expect((list.body.result!.tools as { name: string }[]).map((t) => t.name)).toEqual(["echo"]);
    // The audit is write-behind for outcomes: wait for both records.
    let rows: Awaited<ReturnType<typeof gw.gateway.store.audit.list>> = [];
    for (let i = 0; i < 50 && rows.filter((r) => r.status !== "pending").length < 2; i++) {
      await Bun.sleep(20);
      rows = await gw.gateway.store.audit.list({ filter: { subject: "narrow-agent" }, limit: 10 });
    }
    expect(rows.map((r) => [r.status, r.target, r.protocolVersion, r.sessionId])).toEqual(
      expect.arrayContaining([
        ["denied", "sleep", VERSION, null],
        ["ok", "echo", VERSION, null],
      ]),
    );
  });

  test("subscriptions/listen: acknowledged, then only the list changes asked for, tagged with the listen id", async () => {
    const client = await modernClient("/mcp/alpha");
    const changed: unknown[] = [];
    client.setNotificationHandler("notifications/tools/list_changed", async (n) => void changed.push(n.params));
    try {
      const subscription = await client.listen({ toolsListChanged: true, resourceSubscriptions: ["lab://welcome"] });
      // The lab server cannot subscribe to resources: the acknowledgement leaves that out.
      expect(subscription.honoredFilter).toEqual({ toolsListChanged: true });
      await client.callTool({ name: "add-tool", arguments: { name: "fresh-alpha" } });
      for (let i = 0; i < 100 && changed.length === 0; i++) await Bun.sleep(20);
      expect(changed).toHaveLength(1);
      expect(changed[0]).toMatchObject({ _meta: { "io.modelcontextprotocol/subscriptionId": expect.anything() } });
      await subscription.close();
    } finally {
      await client.close();
    }
  });

  test("on /mcp a listen stream carries every backend's list changes; resource updates only for what the caller may read", async () => {
    const client = await modernClient("/mcp");
    const notes: string[] = [];
    client.setNotificationHandler("notifications/tools/list_changed", async () => void notes.push("tools"));
    client.setNotificationHandler("notifications/resources/updated", async (n) => void notes.push(`updated ${n.params.uri}`));
    const narrow = await modernClient("/mcp", narrowToken);
    try {
      const watched = "mcpgw://fixture/test://watched-resource";
      const denied = await narrow.listen({ resourceSubscriptions: [watched] });
      expect(denied.honoredFilter).toEqual({});
      const subscription = await client.listen({ toolsListChanged: true, resourceSubscriptions: [watched] });
      expect(subscription.honoredFilter).toEqual({ toolsListChanged: true, resourceSubscriptions: [watched] });
      await client.callTool({ name: "beta__add-tool", arguments: { name: "fresh-beta" } });
      // The fixture updates its watched resource every 3 s while subscribed.
      for (let i = 0; i < 250 && !notes.includes(`updated ${watched}`); i++) await Bun.sleep(20);
      expect(notes).toContain("tools");
      expect(notes).toContain(`updated ${watched}`);
      await subscription.close();
      await denied.close();
    } finally {
      await client.close();
      await narrow.close();
    }
  });

  test("2025 sessions still work on the same endpoint, beside modern requests", async () => {
    const { connectClient } = await import("./helpers/gateway.ts");
    const legacy = await connectClient(gw.mcpUrl("alpha"), {}, "legacy", { token });
    try {
      expect((await legacy.callTool({ name: "echo", arguments: { text: "old" } })).content).toEqual([{ type: "text", text: "alpha: old" }]);
    } finally {
      await legacy.close();
    }
  });
});
