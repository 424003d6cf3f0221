import { join } from "node:path";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { issueToken } from "../src/auth/token-issuer.ts";
import { parsePermission } from "../src/policy/permission.ts";
import { openStore } from "../src/store/open-store.ts";
import { REPO_ROOT, cleanEnv } from "./helpers/cli.ts";
import { BUN, backendSpec, everythingStdio } from "./helpers/gateway.ts";
import { type IsolatedSchema, isolatedSchema, postgresAvailable } from "./helpers/postgres.ts";
import { type StartedProcess, startProcess } from "./helpers/process.ts";

/**
 * 2026-07-28 requests carry everything they need, so any replica answers any of them (issue 14,
 * acceptance 4): two gateway processes on one PostgreSQL database, one modern client whose every
 * request goes to the other replica, an input_required round trip begun on one and finished on the
 * other (the requestState is sealed with a key both derive from the shared store), and a state
 * answered on one replica refused when replayed on the other (spent states are in the store).
 */
const AUTH = { tokenIssuer: "mcpgw", tokenAudience: "mcpgw", signingAlg: "EdDSA" as const };
const VERSION = "2026-07-28";

describe("two replicas on one PostgreSQL database, one modern client alternating between them", () => {
  let schema: IsolatedSchema | undefined;
  const gateways: StartedProcess[] = [];
  const origins: string[] = [];
  let token = "";

  beforeAll(async () => {
    if (!(await postgresAvailable())) {
      if (process.env.CI === "true") throw new Error("CI needs PostgreSQL at 127.0.0.1:5432");
      console.warn("PostgreSQL is not available: the replica suite is SKIPPED");
      return;
    }
    schema = await isolatedSchema("modern_replicas");
    const store = openStore(schema.url);
    await store.migrate();
    await store.backends.add(backendSpec({ name: "everything", command: everythingStdio() }));
    await store.roles.create({ name: "all", rules: [{ effect: "allow", permission: parsePermission("*") }] });
    token = (await issueToken(store, AUTH, { subject: "roaming-agent", roles: ["all"], ttlMs: 600_000 })).token;
    await store.close();
    for (let i = 0; i < 2; i++) {
      const gateway = await startProcess([BUN, join(REPO_ROOT, "cli/main.ts"), "serve", "--port", "0", "--db", schema.url], /mcpgw listening/, {
        ...cleanEnv(),
        MCPGW_LOG_LEVEL: "info",
      });
      gateways.push(gateway);
      origins.push(new URL(/"url":"([^"]+)"/.exec(gateway.output())![1]!).origin);
    }
  }, 60_000);

  afterAll(async () => {
    for (const gateway of gateways) gateway.kill();
    await Promise.all(gateways.map((g) => g.exited));
    await schema?.drop();
  });

  test("every request goes to the other replica; elicitation round trips cross them; both audit their share", async (context) => {
    if (!schema) return context.skip();
    const served: string[] = [];
    let turn = 0;
    // Each POST goes to the next replica in turn, whatever URL the client thinks it talks to.
    const alternating = (input: string | URL | Request, init?: RequestInit) => {
      const origin = origins[turn++ % 2]!;
      const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url);
      served.push(origin);
      return fetch(`${origin}${url.pathname}`, init);
    };
    const client = new Client(
      { name: "roaming", version: "1" },
      { capabilities: { elicitation: { form: {} } }, versionNegotiation: { mode: { pin: VERSION } } },
    );
    client.setRequestHandler("elicitation/create", async () => ({ action: "accept", content: { name: "Ada", color: "teal" } }));
    await client.connect(
      new StreamableHTTPClientTransport(new URL("/mcp/everything", origins[0]), { fetch: alternating, authProvider: { token: async () => token } }),
    );
    try {
      for (let i = 0; i < 4; i++)
        expect((await client.callTool({ name: "echo", arguments: { message: `n${i}` } })).content).toEqual([{ type: "text", text: `Echo: n${i}` }]);
      const before = served.length;
      const elicited = await client.callTool({ name: "trigger-elicitation-request", arguments: {} });
      expect(JSON.stringify(elicited.content)).toContain("Name: Ada");
      // Two POSTs for that call: the question from one replica, the answer to the other.
      const round = served.slice(before);
      expect(round).toHaveLength(2);
      expect(round[0]).not.toBe(round[1]);
      expect(new Set(served).size).toBe(2);
    } finally {
      await client.close();
    }
    const store = openStore(schema.url);
    try {
      // A replica writes a call's outcome after it has answered, so the last round's may not be in yet: wait for both.
      const rows = await vi.waitFor(
        async () => {
          const rows = await store.audit.list({ filter: { subject: "roaming-agent" }, limit: 50 });
          const rounds = rows.filter((r) => r.target === "trigger-elicitation-request");
          if (rounds.length < 2 || rounds.some((r) => r.outcomeSeq === null)) throw new Error("the elicitation rounds' outcomes are not all written yet");
          return rows;
        },
        { timeout: 10_000, interval: 100 },
      );
      expect(new Set(rows.map((r) => r.chainId)).size).toBe(2);
      expect(rows.every((r) => r.protocolVersion === VERSION)).toBe(true);
      // The elicitation's two rounds, audited by different replicas, name one exchange.
      const rounds = rows.filter((r) => r.target === "trigger-elicitation-request");
      expect(rounds).toHaveLength(2);
      expect(new Set(rounds.map((r) => r.chainId)).size).toBe(2);
      expect(rounds[0]!.exchange).toMatch(/^[0-9a-f-]{36}$/);
      expect(rounds[1]!.exchange).toBe(rounds[0]!.exchange);
    } finally {
      await store.close();
    }
  });

  test("a requestState answered on one replica is refused when replayed on the other", async (context) => {
    if (!schema) return context.skip();
    let id = 1;
    const post = async (origin: string, params: Record<string, unknown>) => {
      const response = await fetch(`${origin}/mcp/everything`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          "mcp-protocol-version": VERSION,
          "mcp-method": "tools/call",
          "mcp-name": String(params.name),
        },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: id++,
          method: "tools/call",
          params: {
            _meta: { "io.modelcontextprotocol/protocolVersion": VERSION, "io.modelcontextprotocol/clientCapabilities": { elicitation: { form: {} } } },
            ...params,
          },
        }),
      });
      return (await response.json()) as { result?: Record<string, unknown>; error?: { code: number; message: string } };
    };
    const ELICIT = { name: "trigger-elicitation-request", arguments: {} };
    const answer = { q1: { action: "accept", content: { name: "Ada", color: "teal" } } };
    const first = await post(origins[0]!, ELICIT);
    expect(first.result).toMatchObject({ resultType: "input_required" });
    const state = first.result!.requestState;
    expect((await post(origins[1]!, { ...ELICIT, inputResponses: answer, requestState: state })).result).toMatchObject({ resultType: "complete" });
    const replayed = await post(origins[0]!, { ...ELICIT, inputResponses: answer, requestState: state });
    expect(replayed.error).toMatchObject({ code: -32602, message: expect.stringContaining("already used") });
  });
});
