import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { issueToken } from "../src/auth/token-issuer.ts";
import { parseKey } from "../src/config/secret-key-settings.ts";
import { SubjectSecrets } from "../src/credentials/subject-secrets.ts";
import { parsePermission } from "../src/policy/permission.ts";
import { GatewayErrorCode } from "../src/protocol/gateway-errors.ts";
import type { Store } from "../src/store/store.ts";
import { type CallerSession, closeCallerSessions, openCallerSessions, submitWhoamiJob, whoamiJobResult, statelessWhoami } from "./helpers/whoami-callers.ts";
import { type TestGateway, connectClient, refusalOf, startTestGateway } from "./helpers/gateway.ts";
import { everythingReceived, headerRecordingBackend } from "./helpers/header-recording-backend.ts";

const AUTH = { tokenIssuer: "mcpgw", tokenAudience: "mcpgw", signingAlg: "EdDSA" as const };
const AGENTS = { name: "agents", rules: [{ effect: "allow" as const, permission: parsePermission("*") }] };
const KEY = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64");
const SUBJECTS = ["alice", "bob"] as const;
type Subject = (typeof SUBJECTS)[number];
/** Distinctive values, looked for wherever they must not be. */
const SECRETS: Record<Subject, string> = { alice: `alice-secret-${crypto.randomUUID()}`, bob: `bob-secret-${crypto.randomUUID()}` };

function secretsIn(store: Store): SubjectSecrets {
  return new SubjectSecrets(store.subjectSecrets, { current: parseKey(KEY, "test key") });
}

type Text = { content: { text: string }[] };

describe("per-subject secrets: each caller's calls reach the backend with that caller's own secret only", () => {
  let gw: TestGateway;
  let backend: ReturnType<typeof headerRecordingBackend>;
  let plain: ReturnType<typeof headerRecordingBackend>;
  const tokens = {} as Record<Subject | "carol", string>;
  const clients: CallerSession<Subject>[] = [];

  beforeAll(async () => {
    backend = headerRecordingBackend();
    plain = headerRecordingBackend();
    gw = await startTestGateway(
      [
        { name: "tickets", url: backend.url, auth: { mode: "per-subject-secret" } },
        { name: "plain", url: plain.url, headers: { "X-Backend-Key": "plain-own-key" } },
      ],
      { auth: "required", secretKey: KEY },
      {
        prepare: async (store) => {
          await store.roles.create(AGENTS);
          for (const subject of SUBJECTS) await secretsIn(store).set("tickets", subject, SECRETS[subject]);
        },
      },
    );
    for (const subject of [...SUBJECTS, "carol" as const])
      tokens[subject] = (await issueToken(gw.gateway.store, AUTH, { subject, roles: ["agents"], ttlMs: 600_000 })).token;
    clients.push(...(await openCallerSessions(gw, "tickets", SUBJECTS, tokens)));
  }, 60_000);
  afterAll(async () => {
    await closeCallerSessions(clients);
    await gw?.stop();
    backend?.stop();
    plain?.stop();
  });

  test("hundreds of interleaved calls from two subjects over several sessions, /mcp and /mcp/<backend>, lists and jobs", async () => {
    for (const { client, prefix } of clients) {
      expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual(prefix ? ["plain__whoami", "tickets__whoami"] : ["whoami"]);
    }
    const calls = Array.from({ length: 400 }, (_, i) => clients[(i * 7) % clients.length]!);
    const answers: { subject: Subject; text: string }[] = [];
    let next = 0;
    const worker = async () => {
      while (next < calls.length) {
        const { subject, client, prefix } = calls[next++]!;
        const result = (await client.callTool({ name: `${prefix}whoami`, arguments: {} })) as Text;
        answers.push({ subject, text: result.content[0]!.text });
      }
    };
    await Promise.all(Array.from({ length: 24 }, worker));
    const owners = Array.from({ length: 20 }, (_, i) => SUBJECTS[i % 2]!);
    const submitted = await Promise.all(owners.map(async (subject) => ({ subject, id: await submitWhoamiJob(gw, tokens[subject], "tickets") })));
    for (const { subject, id } of submitted) answers.push({ subject, text: await whoamiJobResult(gw, tokens[subject], id) });

    expect(answers.length).toBe(420);
    for (const { subject, text } of answers) expect(text).toBe(`Bearer ${SECRETS[subject]}`);

    // Every request the backend received carried a secret; a backend session only ever one subject's.
    const bySession = new Map<string, Set<string>>();
    for (const request of backend.received) {
      const subject = SUBJECTS.find((s) => request.authorization === `Bearer ${SECRETS[s]}`);
      expect(subject, String(request.authorization)).toBeDefined();
      if (request.session) bySession.set(request.session, (bySession.get(request.session) ?? new Set()).add(subject!));
    }
    expect(bySession.size).toBeGreaterThanOrEqual(2);
    for (const subjects of bySession.values()) expect(subjects.size).toBe(1);
    // The callers' own tokens reached no backend; the static backend never saw a secret.
    const atPlain = await everythingReceived(plain.requests);
    const raw = [...(await everythingReceived(backend.requests)), ...atPlain];
    expect(raw.length).toBe(backend.received.length + plain.received.length);
    for (const request of raw) for (const subject of SUBJECTS) expect(request).not.toContain(tokens[subject]);
    for (const request of atPlain) for (const subject of SUBJECTS) expect(request).not.toContain(SECRETS[subject]);
  }, 120_000);

  test("2026-07-28 stateless requests (no session at all) carry their own caller's secret too", async () => {
    const call = async (subject: Subject, path: string, name: string) => {
      const text = await statelessWhoami(gw, tokens[subject], path, name);
      return { subject, text: text };
    };
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) => call(SUBJECTS[i % 2]!, i % 3 === 0 ? "/mcp" : "/mcp/tickets", i % 3 === 0 ? "tickets__whoami" : "whoami")),
    );
    for (const { subject, text } of answers) expect(text).toBe(`Bearer ${SECRETS[subject]}`);
  });

  test("a caller without a secret gets a clear error naming the command, audited; once set, the next call carries it", async () => {
    // A session of its own at /mcp/tickets opens the backend connection as carol: refused at initialize already, saying what to do.
    await expect(connectClient(gw.mcpUrl("tickets"), {}, "carol", { token: tokens.carol })).rejects.toThrow(/mcpgw secret set tickets --sub carol/);
    const carol = await connectClient(gw.mcpUrl(), {}, "carol", { token: tokens.carol });
    try {
      const refused = await refusalOf(carol.callTool({ name: "tickets__whoami", arguments: {} }));
      expect(refused.code).toBe(GatewayErrorCode.CredentialUnavailable);
      expect(refused.message).toContain('none is stored for subject "carol"');
      expect(refused.message).toContain("mcpgw secret set tickets --sub carol");
      const before = backend.received.length;
      // Again and again: each time the same clear error, never "backend unavailable" — a missing secret is not a failed
      // connection, so no backoff builds up to stand between the operator's fix and the next call.
      for (let i = 0; i < 6; i++) {
        const again = await refusalOf(carol.callTool({ name: "tickets__whoami", arguments: {} }));
        expect([again.code, again.message]).toEqual([refused.code, refused.message]);
      }
      expect(backend.received.length).toBe(before);

      const carolSecret = `carol-secret-${crypto.randomUUID()}`;
      await secretsIn(gw.gateway.store).set("tickets", "carol", carolSecret);
      // Running gateways learn of it through the change counter (checked every 500 ms): bounded by tries, not time.
      let text: string | undefined;
      for (let i = 0; i < 100 && text === undefined; i++) {
        try {
          text = ((await carol.callTool({ name: "tickets__whoami", arguments: {} })) as Text).content[0]!.text;
        } catch {
          await Bun.sleep(50);
        }
      }
      expect(text).toBe(`Bearer ${carolSecret}`);

      // Set again: the value changes on the connection already open, at the next request.
      const rotated = `carol-rotated-${crypto.randomUUID()}`;
      await secretsIn(gw.gateway.store).set("tickets", "carol", rotated);
      for (let i = 0; i < 100 && text !== `Bearer ${rotated}`; i++) {
        text = ((await carol.callTool({ name: "tickets__whoami", arguments: {} })) as Text).content[0]!.text;
        if (text !== `Bearer ${rotated}`) await Bun.sleep(50);
      }
      expect(text).toBe(`Bearer ${rotated}`);
    } finally {
      await carol.close();
    }

    // The audit names the mode of every backend call (never a value); carol's refusal is an error record saying what to do.
    const rows = (await gw.gateway.store.audit.list({ filter: {}, limit: 2_000 })).filter((row) => row.method === "tools/call" || row.method === "jobs/run");
    const carolRows = rows.filter((row) => row.subject === "carol");
    expect(carolRows.find((row) => row.status === "error")).toMatchObject({
      credential: "per-subject-secret",
      errorCode: GatewayErrorCode.CredentialUnavailable,
    });
    expect(carolRows.find((row) => row.status === "error")?.errorMessage).toContain("mcpgw secret set tickets --sub carol");
    for (const row of rows) expect(row.credential).toBe(row.backend === "plain" ? "static" : "per-subject-secret");
    // And which secret each call carried, by its id: the one stored for that subject when the call ran.
    const ids = new Map((await secretsIn(gw.gateway.store).list("tickets")).map((info) => [info.subject, info.secretId]));
    const served = rows.filter((row) => row.backend === "tickets" && row.status === "ok");
    expect(served.filter((row) => row.subject !== "carol").length).toBeGreaterThan(400);
    for (const row of served) if (row.subject !== "carol") expect(row.credentialId, JSON.stringify(row)).toBe(ids.get(row.subject!));
    for (const row of rows) if (row.backend === "plain") expect(row.credentialId).toBeNull();
    const everything = JSON.stringify(await gw.gateway.store.audit.list({ filter: {}, limit: 5_000 }));
    for (const subject of SUBJECTS) expect(everything).not.toContain(SECRETS[subject]);
  }, 60_000);
});
