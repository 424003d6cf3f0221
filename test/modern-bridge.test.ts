import { join } from "node:path";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { issueToken } from "../src/auth/token-issuer.ts";
import { parsePermission } from "../src/policy/permission.ts";
import { REPO_ROOT } from "./helpers/cli.ts";
import { BUN, type TestGateway, everythingStdio, startTestGateway } from "./helpers/gateway.ts";

/**
 * The bridge from a 2026-07-28 client to a 2025-era backend that asks its client something during
 * a call (issue 14): the question comes back as input_required with a sealed requestState, and the
 * client's retry answers the waiting backend request. The state is checked before anything goes on.
 */
const AUTH = { tokenIssuer: "mcpgw", tokenAudience: "mcpgw", signingAlg: "EdDSA" as const };
const VERSION = "2026-07-28";
const CAPABLE = { elicitation: { form: {} }, sampling: {} };

const meta = (capabilities: object = CAPABLE) => ({
  "io.modelcontextprotocol/protocolVersion": VERSION,
  "io.modelcontextprotocol/clientCapabilities": capabilities,
  "io.modelcontextprotocol/clientInfo": { name: "raw", version: "1" },
});

type Rpc = { id: number; status: number; result?: Record<string, unknown>; error?: { code: number; message: string } };

describe("input_required bridge: 2026-07-28 client, 2025-era backend", () => {
  let gw: TestGateway;
  let alice = "";
  let bob = "";

  beforeAll(async () => {
    const modern = { name: "modern", command: [BUN, join(REPO_ROOT, "test/fixtures/modern-server.ts"), "--stdio"], env: { MODERN_NAME: "modern" } };
    gw = await startTestGateway(
      [{ name: "everything", command: everythingStdio() }, modern],
      { auth: "required", inputTtl: "2s" },
      {
        prepare: async (store) => {
          await store.roles.create({ name: "all", rules: [{ effect: "allow", permission: parsePermission("*") }] });
          alice = (await issueToken(store, AUTH, { subject: "alice", roles: ["all"], ttlMs: 600_000 })).token;
          bob = (await issueToken(store, AUTH, { subject: "bob", roles: ["all"], ttlMs: 600_000 })).token;
        },
      },
    );
  }, 60_000);
  afterAll(async () => gw?.stop());

  let nextId = 100;
  async function call(token: string, params: Record<string, unknown>, backend = "everything"): Promise<Rpc> {
    const response = await fetch(gw.mcpUrl(backend), {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-protocol-version": VERSION,
        "mcp-method": "tools/call",
        "mcp-name": String(params.name),
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: nextId++, method: "tools/call", params: { _meta: meta(), ...params } }),
    });
    const body = (await response.json()) as Rpc;
    return { ...body, status: response.status };
  }

  /** The audit records of these requests, once their outcomes are committed (the auditor commits in batches). */
  async function auditedOutcomes(ids: number[]) {
    const wanted = new Set(ids.map(String));
    for (let attempt = 0; ; attempt++) {
      const rows = (await gw.gateway.store.audit.list({ filter: { subject: "alice" }, limit: 200, newestFirst: true })).filter((r) =>
        wanted.has(r.requestId ?? ""),
      );
      if ((rows.length === ids.length && rows.every((r) => r.status !== "pending")) || attempt === 50) return rows;
      await Bun.sleep(100);
    }
  }

  const ELICIT = { name: "trigger-elicitation-request", arguments: {} };
  const accept = (key: string) => ({ [key]: { action: "accept", content: { name: "Ada", color: "red" } } });

  test("a v2 client's elicitation and sampling handlers answer a 2025 backend's questions; the client sees one call each", async () => {
    const client = new Client({ name: "modern", version: "1" }, { capabilities: CAPABLE, versionNegotiation: { mode: { pin: VERSION } } });
    const asked: string[] = [];
    client.setRequestHandler("elicitation/create", async (request) => {
      asked.push(`elicitation: ${request.params.message}`);
      return { action: "accept", content: { name: "Ada", color: "red" } };
    });
    client.setRequestHandler("sampling/createMessage", async () => {
      asked.push("sampling");
      return { role: "assistant", model: "fake-llm", content: { type: "text", text: "sampled!" } };
    });
    await client.connect(new StreamableHTTPClientTransport(gw.mcpUrl("everything"), { authProvider: { token: async () => alice } }));
    try {
      // The backend offers its sampling and elicitation tools only to a client that can answer them.
      const tools = (await client.listTools()).tools.map((t) => t.name);
      expect(tools).toEqual(expect.arrayContaining(["trigger-elicitation-request", "trigger-sampling-request"]));
      const elicited = await client.callTool(ELICIT);
      expect(JSON.stringify(elicited.content)).toContain("Name: Ada");
      const sampled = await client.callTool({ name: "trigger-sampling-request", arguments: { prompt: "hi", maxTokens: 10 } });
      expect(JSON.stringify(sampled.content)).toContain("sampled!");
      expect(asked).toEqual(["elicitation: Please provide inputs for the following fields:", "sampling"]);
    } finally {
      await client.close();
    }
  });

  test("the raw exchange: input_required with the question and a sealed state; the retry gets the result", async () => {
    const first = await call(alice, ELICIT);
    expect(first.result).toMatchObject({ resultType: "input_required", inputRequests: { q1: { method: "elicitation/create" } } });
    const state = first.result!.requestState as string;
    expect(state).toMatch(/^mcpgw-rs1\./);
    // The state is encrypted: what the client answered is not readable in it.
    expect(state).not.toContain("Ada");
    const second = await call(alice, { ...ELICIT, inputResponses: accept("q1"), requestState: state });
    expect(second.result).toMatchObject({ resultType: "complete" });
    expect(JSON.stringify(second.result!.content)).toContain("Name: Ada");
    // Two requests, one call: both rounds' records name the same exchange; a plain call names none.
    const plain = await call(alice, { name: "echo", arguments: { message: "plain" } });
    const rows = await auditedOutcomes([first.id, second.id, plain.id]);
    const exchangeOf = (id: number) => rows.find((r) => r.requestId === String(id))?.exchange;
    expect(exchangeOf(first.id)).toMatch(/^[0-9a-f-]{36}$/);
    expect(exchangeOf(second.id)).toBe(exchangeOf(first.id));
    expect(exchangeOf(plain.id)).toBeNull();
    expect(rows.map((r) => r.status)).toEqual(["ok", "ok", "ok"]);
  });

  test("tampered, foreign, replayed, mismatched and expired states are refused with a clear error", async () => {
    const first = await call(alice, ELICIT);
    const state = first.result!.requestState as string;
    const tampered = state.slice(0, -4) + (state.endsWith("AAAA") ? "BBBB" : "AAAA");
    expect((await call(alice, { ...ELICIT, inputResponses: accept("q1"), requestState: tampered })).error).toMatchObject({
      code: -32602,
      message: expect.stringContaining("does not verify"),
    });
    expect((await call(alice, { ...ELICIT, inputResponses: accept("q1"), requestState: "made-up" })).error?.message).toContain("not issued by this gateway");
    expect((await call(bob, { ...ELICIT, inputResponses: accept("q1"), requestState: state })).error?.message).toContain("issued to another caller");
    expect((await call(alice, { name: "echo", arguments: { message: "x" }, inputResponses: accept("q1"), requestState: state })).error?.message).toContain(
      "belongs to another request",
    );
    expect((await call(alice, { ...ELICIT, inputResponses: {}, requestState: state })).error?.message).toContain('no answer for "q1"');
    // The genuine retry still works once, and only once.
    expect((await call(alice, { ...ELICIT, inputResponses: accept("q1"), requestState: state })).result).toMatchObject({ resultType: "complete" });
    expect((await call(alice, { ...ELICIT, inputResponses: accept("q1"), requestState: state })).error?.message).toContain("already used");
    // MCPGW_INPUT_TTL is 2 s here.
    const late = await call(alice, ELICIT);
    await Bun.sleep(2_200);
    expect((await call(alice, { ...ELICIT, inputResponses: accept("q1"), requestState: late.result!.requestState })).error?.message).toContain("expired");
  });

  test("a 2026-07-28 backend's own requestState travels sealed inside the gateway's: bound to the caller, used once, one exchange", async () => {
    const SUMMARIZE = { name: "summarize", arguments: { text: "a long text" } };
    const first = await call(alice, SUMMARIZE, "modern");
    expect(first.result).toMatchObject({ resultType: "input_required", inputRequests: { summary: { method: "sampling/createMessage" } } });
    const state = first.result!.requestState as string;
    expect(state).toMatch(/^mcpgw-rs1\./);
    const answer = { summary: { role: "assistant", model: "fake-llm", content: { type: "text", text: "brief" } } };
    // The backend would take its own state from anyone; through the gateway only its caller can present it.
    expect((await call(bob, { ...SUMMARIZE, inputResponses: answer, requestState: state }, "modern")).error).toMatchObject({
      code: -32602,
      message: expect.stringContaining("issued to another caller"),
    });
    expect((await call(alice, { ...SUMMARIZE, inputResponses: answer, requestState: "made-up" }, "modern")).error?.message).toContain(
      "not issued by this gateway",
    );
    // The backend gets its own state back unchanged: its check that the state belongs to the call passes.
    const second = await call(alice, { ...SUMMARIZE, inputResponses: answer, requestState: state }, "modern");
    expect(second.result).toMatchObject({ resultType: "complete" });
    expect(JSON.stringify(second.result!.content)).toContain("summary(fake-llm): brief");
    expect((await call(alice, { ...SUMMARIZE, inputResponses: answer, requestState: state }, "modern")).error?.message).toContain("already used");
    const rows = await auditedOutcomes([first.id, second.id]);
    expect(rows).toHaveLength(2);
    expect(rows[0]!.exchange).toMatch(/^[0-9a-f-]{36}$/);
    expect(rows[1]!.exchange).toBe(rows[0]!.exchange);
  });

  test("a client that declared no such capability never sees those tools, and its calls use the shared connection", async () => {
    const response = await fetch(gw.mcpUrl("everything"), {
      method: "POST",
      headers: {
        authorization: `Bearer ${alice}`,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-protocol-version": VERSION,
        "mcp-method": "tools/list",
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: { _meta: meta({}) } }),
    });
    const names = (((await response.json()) as Rpc).result!.tools as { name: string }[]).map((t) => t.name);
    expect(names).toContain("echo");
    expect(names).not.toContain("trigger-elicitation-request");
  });
});
