import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { issueToken } from "../src/auth/token-issuer.ts";
import type { JobView } from "../src/jobs/job-api-schemas.ts";
import { parsePermission } from "../src/policy/permission.ts";
import { CapturingAuditor } from "./helpers/auth-tokens.ts";
import { type CallerSession, closeCallerSessions, openCallerSessions, statelessWhoami } from "./helpers/whoami-callers.ts";
import { type TestGateway, connectClient, startTestGateway } from "./helpers/gateway.ts";
import { type ReceivedRequest, everythingReceived, headerRecordingBackend } from "./helpers/header-recording-backend.ts";
import { TestTokenEndpoint } from "./fixtures/token-endpoint.ts";

const ISSUER = "https://idp.test/realms/agents";
const GATEWAY_AUDIENCE = "mcpgw-test";
const CLIENT = { id: "mcpgw-gateway", secret: "s3cret-of-the-gateway-client" };
const SECRET_VARIABLE = "MCPGW_TEST_EXCHANGE_CLIENT_SECRET";
const AGENTS = { name: "agents", rules: [{ effect: "allow" as const, permission: parsePermission("*") }] };
const SUBJECTS = ["alice", "bob"] as const;
type Subject = (typeof SUBJECTS)[number];

/** The credential header of every request the backend received. */
const authorizations = (backend: { received: ReceivedRequest[] }) => backend.received.map((request) => request.authorization);

/** Lifetimes the token endpoint issues per audience: long (one exchange for the whole test), and 32 s (usable 2 s after the 30 s margin). */
const LONG_LIVED = 3_600;
const SHORT_LIVED = 32;

function bearer(text: string): string {
  expect(text).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
  return text.slice("Bearer ".length);
}

async function whoami(client: Client, name = "whoami"): Promise<string> {
  const result = (await client.callTool({ name, arguments: {} })) as { content: { text: string }[]; isError?: boolean };
  expect(result.isError).toBeFalsy();
  return bearer(result.content[0]!.text);
}

describe("token exchange (RFC 8693): each caller's identity-provider token exchanged for the backend's", () => {
  let idp: TestTokenEndpoint;
  let gw: TestGateway;
  let tickets: ReturnType<typeof headerRecordingBackend>;
  let reports: ReturnType<typeof headerRecordingBackend>;
  const auditor = new CapturingAuditor();
  const logins = {} as Record<Subject, string>;
  const clients: CallerSession<Subject>[] = [];

  beforeAll(async () => {
    tickets = headerRecordingBackend();
    reports = headerRecordingBackend();
    idp = await TestTokenEndpoint.start({
      issuer: ISSUER,
      gatewayAudience: GATEWAY_AUDIENCE,
      audiences: { "https://tickets.test": LONG_LIVED, [reports.url]: SHORT_LIVED },
      client: CLIENT,
    });
    process.env[SECRET_VARIABLE] = CLIENT.secret;
    const exchange = { mode: "token-exchange" as const, tokenEndpoint: idp.tokenUrl, clientId: CLIENT.id, clientSecret: `\${${SECRET_VARIABLE}}` };
    gw = await startTestGateway(
      [
        { name: "tickets", url: tickets.url, auth: { ...exchange, audience: "https://tickets.test", scope: "tickets:read" } },
        // Audience defaults to the backend's URL; short-lived tokens.
        { name: "reports", url: reports.url, auth: exchange },
        // An audience the token endpoint refuses.
        { name: "refused", url: tickets.url, auth: { ...exchange, audience: "https://nobody.test" } },
      ],
      { auth: "required", jwtJwksUrl: idp.jwksUrl, jwtIssuer: ISSUER, jwtAudience: GATEWAY_AUDIENCE },
      { auditor, prepare: (store) => store.roles.create(AGENTS) },
    );
    for (const subject of SUBJECTS) logins[subject] = await idp.login(subject);
    clients.push(...(await openCallerSessions(gw, "tickets", SUBJECTS, logins)));
  }, 60_000);
  afterAll(async () => {
    await closeCallerSessions(clients);
    await gw?.stop();
    tickets?.stop();
    reports?.stop();
    await idp?.stop();
    delete process.env[SECRET_VARIABLE];
  });

  test("two subjects, many interleaved calls over several sessions: each gets its own exchanged token, exchanged once", async () => {
    const calls = Array.from({ length: 240 }, (_, i) => clients[(i * 7) % clients.length]!);
    const answers: { subject: Subject; token: string }[] = [];
    let next = 0;
    const worker = async () => {
      while (next < calls.length) {
        const { subject, client, prefix } = calls[next++]!;
        answers.push({ subject, token: await whoami(client, `${prefix}whoami`) });
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));

    // The audit names the exchanged token each call carried, by its jti.
    for (const subject of SUBJECTS) {
      const [grant] = idp.grantsFor(subject, "https://tickets.test");
      const outcomes = auditor.calls.filter((call) => call.context.subject === subject && call.context.backend === "tickets" && call.outcome?.status === "ok");
      expect(outcomes.length).toBeGreaterThanOrEqual(answers.filter((answer) => answer.subject === subject).length);
      for (const call of outcomes) expect(call.outcome?.credentialId).toBe(grant!.jti);
    }
    // Once per subject for the cache's lifetime, however many calls and sessions.
    for (const subject of SUBJECTS) expect(idp.grantsFor(subject, "https://tickets.test")).toHaveLength(1);
    for (const { subject, token } of answers) {
      const [grant] = idp.grantsFor(subject, "https://tickets.test");
      expect(token).toBe(grant!.accessToken);
      expect(decodeJwt(token)).toMatchObject({ sub: subject, aud: "https://tickets.test", scope: "tickets:read" });
    }
    // Every request the backend received carried one of the two exchanged tokens; never an identity-provider token.
    const issued = new Set(idp.granted.map((grant) => grant.accessToken));
    expect(authorizations(tickets).length).toBeGreaterThan(answers.length);
    for (const authorization of authorizations(tickets)) expect(issued.has(bearer(authorization ?? ""))).toBe(true);
    const received = await everythingReceived(tickets.requests);
    for (const request of received) for (const subject of SUBJECTS) expect(request).not.toContain(logins[subject]);
    // The client secret went to the token endpoint (Basic), and only there.
    for (const request of received) expect(request).not.toContain(btoa(`${CLIENT.id}:${CLIENT.secret}`));
  }, 120_000);

  test("2026-07-28 stateless requests carry their own caller's exchanged token, from the same cache", async () => {
    const call = async (subject: Subject, path: string, name: string) => {
      const text = await statelessWhoami(gw, logins[subject], path, name);
      return { subject, token: bearer(text) };
    };
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => call(SUBJECTS[i % 2]!, i % 3 === 0 ? "/mcp" : "/mcp/tickets", i % 3 === 0 ? "tickets__whoami" : "whoami")),
    );
    for (const { subject, token } of answers) expect(token).toBe(idp.grantsFor(subject, "https://tickets.test")[0]!.accessToken);
    for (const subject of SUBJECTS) expect(idp.grantsFor(subject, "https://tickets.test")).toHaveLength(1);
  });

  test("a job runs after its request is gone, with no identity-provider token kept: it fails, saying so", async () => {
    const headers = { "content-type": "application/json", authorization: `Bearer ${logins.alice}` };
    const body = JSON.stringify({ backend: "tickets", tool: "whoami", arguments: {} });
    const submitted = await fetch(new URL("/v1/jobs", gw.base), { method: "POST", headers, body });
    expect(submitted.status).toBe(202);
    const { id } = (await submitted.json()) as JobView;
    let view: JobView | undefined;
    for (let i = 0; i < 600 && !["completed", "failed"].includes(view?.status ?? ""); i++) {
      if (i > 0) await Bun.sleep(50);
      view = (await (await fetch(new URL(`/v1/jobs/${id}`, gw.base), { headers })).json()) as JobView;
    }
    expect(view?.status).toBe("failed");
    expect(JSON.stringify(view?.error)).toMatch(/needs an identity-provider login/);
    expect(JSON.stringify(view)).not.toContain(logins.alice);
  });

  test("an exchanged token is used until shortly before it expires, then exchanged again", async () => {
    const alice = clients.find((entry) => entry.subject === "alice" && entry.prefix === "tickets__")!.client;
    // Opening the aggregated sessions exchanged for reports already; how long ago depends on the machine.
    const first = await whoami(alice, "reports__whoami");
    const grants = idp.grantsFor("alice", reports.url);
    expect(first).toBe(grants.at(-1)!.accessToken);
    // Lifetime 32 s, used until 30 s before expiry: once 2 s have passed it is exchanged again.
    await Bun.sleep(2_500);
    const second = await whoami(alice, "reports__whoami");
    expect(idp.grantsFor("alice", reports.url)).toHaveLength(grants.length + 1);
    expect(second).not.toBe(first);
    expect(second).toBe(idp.grantsFor("alice", reports.url).at(-1)!.accessToken);
    expect(decodeJwt(second)).toMatchObject({ sub: "alice", aud: reports.url });
  }, 30_000);

  test("a refused exchange fails the call with the endpoint's error, no token in it, audited; nothing reaches the backend", async () => {
    const before = authorizations(tickets).length;
    const bob = clients.find((entry) => entry.subject === "bob" && entry.prefix === "tickets__")!.client;
    const failure = await bob.callTool({ name: "refused__whoami", arguments: {} }).then(
      (result) => JSON.stringify(result),
      (err: Error) => err.message,
    );
    expect(failure).toMatch(/backend "refused": exchanging the caller's token at .* was refused: invalid_target/);
    for (const subject of SUBJECTS) expect(failure).not.toContain(logins[subject]);
    expect(authorizations(tickets).length).toBe(before);
    const audited = auditor.calls.find((call) => call.context.backend === "refused" && call.context.subject === "bob");
    expect(audited?.outcome).toMatchObject({ status: "error" });
    expect(audited?.outcome?.errorMessage).toMatch(/invalid_target/);
  });

  test("a subject token the endpoint rejects, echoed back in its error, is not passed on", async () => {
    // The gateway accepts it (its own clock skew), the endpoint does not: expired 10 s ago.
    const now = Math.floor(Date.now() / 1_000);
    const stale = await idp.login("carol", ["agents"], { iat: now - 600, exp: now - 10 });
    // Opening a session on /mcp/reports connects the backend, which needs the exchange: the open fails.
    const failure = await connectClient(gw.mcpUrl("reports"), {}, "carol", { token: stale }).then(
      async (client) => {
        await client.close();
        return "connected";
      },
      (err: Error) => err.message,
    );
    expect(failure).toMatch(/backend \\?"reports\\?": exchanging the caller's token at .* was refused: invalid_grant \(subject token \[token\] rejected/);
    expect(failure).not.toContain(stale);
    expect(failure).toContain("[token]");
  });

  test("a caller with a gateway-issued token has no identity-provider token: a clear error, audited, no fallback", async () => {
    const token = (
      await issueToken(
        gw.gateway.store,
        { tokenIssuer: "mcpgw", tokenAudience: "mcpgw", signingAlg: "EdDSA" },
        { subject: "alice", roles: ["agents"], ttlMs: 600_000 },
      )
    ).token;
    const before = { tickets: authorizations(tickets).length, grants: idp.granted.length };
    const client = await connectClient(gw.mcpUrl("tickets"), {}, "gateway-token", { token });
    const failure = await client.callTool({ name: "whoami", arguments: {} }).then(JSON.stringify, (err: Error) => err.message);
    await client.close();
    expect(failure).toMatch(/backend "tickets" needs an identity-provider login/);
    // Not alice's cached exchanged token, not a static credential: nothing was sent, nothing exchanged.
    expect(authorizations(tickets).length).toBe(before.tickets);
    expect(idp.granted.length).toBe(before.grants);
    const audited = auditor.calls.filter((call) => call.context.backend === "tickets" && call.outcome?.status === "error");
    expect(audited.at(-1)?.outcome?.errorMessage).toMatch(/needs an identity-provider login/);
  });

  test("no request to the token endpoint carried anything but the subject's own token for the subject", () => {
    expect(idp.bodies.length).toBeGreaterThan(0);
    for (const body of idp.bodies) {
      const form = new URLSearchParams(body.slice(body.indexOf("\n") + 1));
      expect(form.get("grant_type")).toBe("urn:ietf:params:oauth:grant-type:token-exchange");
      expect(form.get("subject_token_type")).toBe("urn:ietf:params:oauth:token-type:access_token");
    }
  });
});
