import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { createRemoteJWKSet, decodeJwt, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { issueToken } from "../src/auth/token-issuer.ts";
import { ASSERTION_TYP } from "../src/auth/gateway-assertion.ts";
import { parsePermission } from "../src/policy/permission.ts";
import type { JobView } from "../src/jobs/job-api-schemas.ts";
import { type TestGateway, connectClient, startTestGateway } from "./helpers/gateway.ts";
import { postInitialize } from "./helpers/auth-tokens.ts";
import { everythingReceived, headerRecordingBackend } from "./helpers/header-recording-backend.ts";

const AUTH = { tokenIssuer: "mcpgw", tokenAudience: "mcpgw", signingAlg: "EdDSA" as const };
const AGENTS = { name: "agents", rules: [{ effect: "allow" as const, permission: parsePermission("*") }] };
const SUBJECTS = ["alice", "bob"] as const;
type Subject = (typeof SUBJECTS)[number];

function bearer(text: string): string {
  expect(text).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
  return text.slice("Bearer ".length);
}

describe("gateway assertions: each caller's calls reach the backend with that caller's credential only", () => {
  let gw: TestGateway;
  let backend: ReturnType<typeof headerRecordingBackend>;
  /** A static backend beside it: its own key for everyone, and never a caller's token either. */
  let plain: ReturnType<typeof headerRecordingBackend>;
  const tokens = {} as Record<Subject, string>;
  const clients: { subject: Subject; client: Client; prefix: string }[] = [];

  beforeAll(async () => {
    backend = headerRecordingBackend();
    plain = headerRecordingBackend();
    gw = await startTestGateway(
      [
        { name: "tickets", url: backend.url, auth: { mode: "gateway-assertion" } },
        { name: "plain", url: plain.url, headers: { "X-Backend-Key": "plain-own-key" } },
      ],
      { auth: "required" },
      { prepare: (store) => store.roles.create(AGENTS) },
    );
    for (const subject of SUBJECTS) tokens[subject] = (await issueToken(gw.gateway.store, AUTH, { subject, roles: ["agents"], ttlMs: 600_000 })).token;
    // Several sessions each, on both endpoints.
    for (const subject of SUBJECTS) {
      const connect = (url: URL, name: string) => connectClient(url, {}, name, { token: tokens[subject] });
      for (let i = 0; i < 3; i++) clients.push({ subject, client: await connect(gw.mcpUrl("tickets"), `${subject}-${i}`), prefix: "" });
      for (let i = 0; i < 2; i++) clients.push({ subject, client: await connect(gw.mcpUrl(), `${subject}-agg-${i}`), prefix: "tickets__" });
    }
  }, 60_000);
  afterAll(async () => {
    for (const { client } of clients) await client.close().catch(() => undefined);
    await gw?.stop();
    backend?.stop();
    plain?.stop();
  });

  /** Submits a whoami job (REST) as `subject`; its id. */
  async function submitJob(subject: Subject, backendName: string): Promise<string> {
    const response = await fetch(new URL("/v1/jobs", gw.base), {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${tokens[subject]}` },
      body: JSON.stringify({ backend: backendName, tool: "whoami", arguments: {} }),
    });
    expect(response.status).toBe(202);
    return ((await response.json()) as JobView).id;
  }

  /** The text a whoami job answered, once it completed. */
  async function jobResult(subject: Subject, id: string): Promise<string> {
    for (let i = 0; i < 600; i++) {
      const view = (await (await fetch(new URL(`/v1/jobs/${id}`, gw.base), { headers: { authorization: `Bearer ${tokens[subject]}` } })).json()) as JobView;
      if (view.status === "completed") return (view.result as { content: { text: string }[] }).content[0]!.text;
      if (view.status === "failed") throw new Error(`job failed: ${JSON.stringify(view.error)}`);
      await Bun.sleep(50);
    }
    throw new Error(`job ${id} did not complete`);
  }

  test("hundreds of interleaved calls from two subjects over several sessions, /mcp and /mcp/<backend>, lists and jobs", async () => {
    // Aggregated and per-backend lists go to the backend too.
    for (const { client, prefix } of clients) {
      expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual(prefix ? ["plain__whoami", "tickets__whoami"] : ["whoami"]);
      if (prefix) expect(((await client.callTool({ name: "plain__whoami", arguments: {} })) as { content: { text: string }[] }).content[0]!.text).toBe("");
    }
    // 400 calls, 24 in flight at a time, spread over every session of both subjects.
    const calls = Array.from({ length: 400 }, (_, i) => clients[(i * 7) % clients.length]!);
    const answers: { subject: Subject; token: string }[] = [];
    let next = 0;
    const worker = async () => {
      while (next < calls.length) {
        const { subject, client, prefix } = calls[next++]!;
        const result = (await client.callTool({ name: `${prefix}whoami`, arguments: {} })) as { content: { text: string }[] };
        answers.push({ subject, token: bearer(result.content[0]!.text) });
      }
    };
    await Promise.all(Array.from({ length: 24 }, worker));
    // Jobs (REST) run later, on the workers, as their owner.
    const owners = Array.from({ length: 20 }, (_, i) => SUBJECTS[i % 2]!);
    const submitted = await Promise.all(owners.map(async (subject) => ({ subject, id: await submitJob(subject, "tickets") })));
    for (const { subject, id } of submitted) answers.push({ subject, token: bearer(await jobResult(subject, id)) });

    // Every call came with its own caller's assertion, for this call.
    const callIds = new Set<string>();
    for (const { subject, token } of answers) {
      const claims = decodeJwt(token);
      expect(claims.sub).toBe(subject);
      expect(claims.roles).toEqual(["agents"]);
      callIds.add(String(claims.call_id));
    }
    expect(callIds.size).toBe(answers.length);

    // Every request the backend received carried an assertion; a backend session only ever one subject's.
    const subjectsBySession = new Map<string, Set<string>>();
    for (const request of backend.received) {
      const sub = decodeJwt(bearer(request.authorization ?? "")).sub!;
      expect(SUBJECTS).toContain(sub);
      if (request.session) subjectsBySession.set(request.session, (subjectsBySession.get(request.session) ?? new Set()).add(sub));
    }
    expect(subjectsBySession.size).toBeGreaterThanOrEqual(2);
    for (const subjects of subjectsBySession.values()) expect(subjects.size).toBe(1);
    // The callers' own tokens never reached the backend, on any path.
    // Jobs at the static backend too.
    for (const subject of SUBJECTS) expect(await jobResult(subject, await submitJob(subject, "plain"))).toBe("");
    expect(plain.received.filter((request) => request.method === "POST").length).toBeGreaterThan(clients.length);
    for (const request of plain.received) expect(request.authorization).toBeNull();
    const raw = [...(await everythingReceived(backend.requests)), ...(await everythingReceived(plain.requests))];
    expect(raw.length).toBe(backend.received.length + plain.received.length);
    for (const request of raw) for (const subject of SUBJECTS) expect(request).not.toContain(tokens[subject]);
    expect(raw.filter((request) => request.includes("x-backend-key: plain-own-key")).length).toBe(plain.received.length);
  }, 120_000);

  test("2026-07-28 stateless requests (no session at all) carry their own caller's assertion too", async () => {
    const meta = {
      "io.modelcontextprotocol/protocolVersion": "2026-07-28",
      "io.modelcontextprotocol/clientCapabilities": {},
      "io.modelcontextprotocol/clientInfo": { name: "raw", version: "1" },
    };
    const call = async (subject: Subject, path: string, name: string) => {
      const response = await fetch(new URL(path, gw.base), {
        method: "POST",
        headers: {
          authorization: `Bearer ${tokens[subject]}`,
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          "mcp-protocol-version": "2026-07-28",
          "mcp-method": "tools/call",
          "mcp-name": name,
        },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name, arguments: {}, _meta: meta } }),
      });
      const body = (await response.json()) as { result?: { content: { text: string }[] }; error?: unknown };
      expect(body.error).toBeUndefined();
      return { subject, sub: decodeJwt(bearer(body.result!.content[0]!.text)).sub };
    };
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) => call(SUBJECTS[i % 2]!, i % 3 === 0 ? "/mcp" : "/mcp/tickets", i % 3 === 0 ? "tickets__whoami" : "whoami")),
    );
    for (const { subject, sub } of answers) expect(sub).toBe(subject);
  });

  test("an assertion verifies with jose against /.well-known/jwks.json: the backend's audience, at most 5 minutes", async () => {
    const result = (await clients[0]!.client.callTool({ name: "whoami", arguments: {} })) as { content: { text: string }[] };
    const jwks = createRemoteJWKSet(new URL("/.well-known/jwks.json", gw.base));
    const { payload, protectedHeader } = await jwtVerify(bearer(result.content[0]!.text), jwks, { issuer: "mcpgw", audience: backend.url, typ: ASSERTION_TYP });
    expect(payload.sub).toBe(clients[0]!.subject);
    expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(300);
    expect(payload.exp! * 1_000).toBeGreaterThan(Date.now());
    expect(protectedHeader.kid).toBeDefined();
    await expect(jwtVerify(bearer(result.content[0]!.text), jwks, { audience: "mcpgw" })).rejects.toThrow(/aud/);
  });

  test("an assertion is never accepted by the gateway itself as a bearer token", async () => {
    const result = (await clients[0]!.client.callTool({ name: "whoami", arguments: {} })) as { content: { text: string }[] };
    // Signed with the gateway's own key; even so it is a credential for a backend, not for the gateway.
    expect((await postInitialize(gw.mcpUrl("tickets"), result.content[0]!.text)).status).toBe(401);
  });
});
