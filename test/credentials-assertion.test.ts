import { createRemoteJWKSet, decodeJwt, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { issueToken } from "../src/auth/token-issuer.ts";
import { ASSERTION_TYP } from "../src/auth/gateway-assertion.ts";
import { parsePermission } from "../src/policy/permission.ts";
import { type CallerSession, closeCallerSessions, openCallerSessions, submitWhoamiJob, whoamiJobResult, statelessWhoami } from "./helpers/whoami-callers.ts";
import { type TestGateway, startTestGateway } from "./helpers/gateway.ts";
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
  const clients: CallerSession<Subject>[] = [];

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
    clients.push(...(await openCallerSessions(gw, "tickets", SUBJECTS, tokens)));
  }, 60_000);
  afterAll(async () => {
    await closeCallerSessions(clients);
    await gw?.stop();
    backend?.stop();
    plain?.stop();
  });

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
    const submitted = await Promise.all(owners.map(async (subject) => ({ subject, id: await submitWhoamiJob(gw, tokens[subject], "tickets") })));
    for (const { subject, id } of submitted) answers.push({ subject, token: bearer(await whoamiJobResult(gw, tokens[subject], id)) });

    // Every call came with its own caller's assertion, for this call.
    const callIds = new Set<string>();
    for (const { subject, token } of answers) {
      const claims = decodeJwt(token);
      expect(claims.sub).toBe(subject);
      expect(claims.roles).toEqual(["agents"]);
      callIds.add(String(claims.call_id));
    }
    expect(callIds.size).toBe(answers.length);
    // The audit names each call's assertion by its jti, in the call's own record.
    const audited = (await gw.gateway.store.audit.list({ filter: {}, limit: 5_000 })).filter((row) => row.backend === "tickets" && row.status === "ok");
    const jtiOwner = new Map(audited.map((row) => [row.credentialId, row.subject]));
    for (const { subject, token } of answers) expect(jtiOwner.get(String(decodeJwt(token).jti))).toBe(subject);

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
    for (const subject of SUBJECTS) expect(await whoamiJobResult(gw, tokens[subject], await submitWhoamiJob(gw, tokens[subject], "plain"))).toBe("");
    expect(plain.received.filter((request) => request.method === "POST").length).toBeGreaterThan(clients.length);
    for (const request of plain.received) expect(request.authorization).toBeNull();
    const raw = [...(await everythingReceived(backend.requests)), ...(await everythingReceived(plain.requests))];
    expect(raw.length).toBe(backend.received.length + plain.received.length);
    for (const request of raw) for (const subject of SUBJECTS) expect(request).not.toContain(tokens[subject]);
    expect(raw.filter((request) => request.includes("x-backend-key: plain-own-key")).length).toBe(plain.received.length);
  }, 120_000);

  test("2026-07-28 stateless requests (no session at all) carry their own caller's assertion too", async () => {
    const call = async (subject: Subject, path: string, name: string) => {
      const text = await statelessWhoami(gw, tokens[subject], path, name);
      return { subject, sub: decodeJwt(bearer(text)).sub };
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
