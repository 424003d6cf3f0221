import pino from "pino";
import { decodeJwt } from "jose";
import { describe, expect, test } from "vitest";
import { generateSigningKey } from "../auth/signing-keys.ts";
import type { BackendSpec } from "./backend-spec.ts";
import { createBackendTransport } from "./transport-factory.ts";
import { runAsCall } from "../credentials/call-context.ts";
import { CredentialBinder } from "./credential-binder.ts";
import { ASSERTION_TTL_SEC, GatewayAssertionSigner } from "../auth/gateway-assertion.ts";
import { missingSecret, type SubjectSecretSource } from "../credentials/subject-secrets.ts";

const URL = "http://127.0.0.1:9/mcp";
const STATIC: BackendSpec = { name: "plain", transport: "streamable-http", url: URL, env: {}, headers: {}, timeoutMs: 5_000, createdAt: 0, updatedAt: 0 };
const PER_CALLER: BackendSpec = { ...STATIC, name: "tickets", auth: { mode: "gateway-assertion", header: "X-Caller" } };
const ALICE = { subject: "alice", roles: ["agents"] };
const BOB = { subject: "bob", roles: ["agents"] };
const OPTIONS = { env: {}, logger: pino({ level: "silent" }) };

async function binder(): Promise<CredentialBinder> {
  const key = await generateSigningKey("EdDSA");
  return new CredentialBinder({ assertions: new GatewayAssertionSigner(async () => [key], "mcpgw") });
}

describe("CredentialBinder", () => {
  test("a static backend is not bound; a per-caller one is bound once per caller, so identity tells callers apart", async () => {
    const credentials = await binder();
    expect(credentials.bind(STATIC, ALICE)).toBe(STATIC);
    const alice = credentials.bind(PER_CALLER, ALICE);
    expect(alice).not.toBe(PER_CALLER);
    expect(credentials.bind(PER_CALLER, { subject: "alice", roles: ["agents"] })).toBe(alice);
    expect(credentials.bind(PER_CALLER, BOB)).not.toBe(alice);
    expect(credentials.bind(PER_CALLER, { subject: "alice", roles: ["admin"] }).credential?.key).not.toBe(alice.credential?.key);
    // No caller: the spec stays unbound, and no transport is built for it.
    expect(credentials.bind(PER_CALLER, undefined)).toBe(PER_CALLER);
    const noCaller = /takes per-caller credentials \(--auth gateway-assertion\), and this connection has no caller/;
    expect(() => createBackendTransport(PER_CALLER, OPTIONS)).toThrow(noCaller);
    expect(() => createBackendTransport(alice, OPTIONS)).not.toThrow();
  });

  test("the credential is made per call, for the bound caller only; another caller's call is stopped before anything is sent", async () => {
    const alice = (await binder()).bind(PER_CALLER, ALICE).credential!;
    const own = await runAsCall({ id: "call-1", subject: "alice", roles: ["agents", "granted"] }, () => alice.headers());
    const claims = decodeJwt(own["X-Caller"]!);
    expect(claims).toMatchObject({ sub: "alice", aud: URL, roles: ["agents", "granted"], call_id: "call-1", iss: "mcpgw" });
    expect(claims.exp! - claims.iat!).toBe(ASSERTION_TTL_SEC);
    // Outside a call (a connection's own initialize): the bound caller, no call id.
    expect(decodeJwt((await alice.headers())["X-Caller"]!)).toMatchObject({ sub: "alice", roles: ["agents"] });
    await expect(runAsCall({ id: "call-2", subject: "bob", roles: [] }, () => alice.headers())).rejects.toThrow(/another caller's credential/);
  });

  test("without a signer (a process that holds no keys) a per-caller backend fails, saying where to call it from", async () => {
    const unsigned = new CredentialBinder({}).bind(PER_CALLER, ALICE).credential!;
    await expect(unsigned.headers()).rejects.toThrow(/cannot sign them/);
  });

  test("per-subject-secret: each caller's own secret per request, Bearer in Authorization; missing fails before connecting; crossed callers stopped", async () => {
    const stored = new Map([["alice", "a-secret"]]);
    const secrets: SubjectSecretSource = {
      resolve: async (backend, subject) => {
        const value = stored.get(subject);
        if (value === undefined) throw missingSecret(backend, subject);
        return { value, secretId: `sec_${subject}` };
      },
    };
    const spec: BackendSpec = { ...STATIC, name: "tickets", auth: { mode: "per-subject-secret" } };
    const binder = new CredentialBinder({ secrets });
    const alice = binder.bind(spec, ALICE).credential!;
    expect(binder.bind(spec, BOB).credential!.key).not.toBe(alice.key);
    expect(await alice.headers()).toEqual({ Authorization: "Bearer a-secret" });
    stored.set("alice", "changed");
    expect(await alice.headers()).toEqual({ Authorization: "Bearer changed" });
    await expect(alice.prepare!()).resolves.toBeUndefined();
    const bob = binder.bind(spec, BOB).credential!;
    await expect(bob.prepare!()).rejects.toThrow(/mcpgw secret set tickets --sub bob/);
    await expect(runAsCall({ id: "c", subject: "bob", roles: [] }, () => alice.headers())).rejects.toThrow(/another caller's credential/);
    const other = new CredentialBinder({ secrets }).bind({ ...spec, auth: { mode: "per-subject-secret", header: "X-Api-Key" } }, ALICE).credential!;
    expect(await other.headers()).toEqual({ "X-Api-Key": "changed" });
    // A process without the secret source (none given) fails closed.
    await expect(new CredentialBinder({}).bind(spec, ALICE).credential!.headers()).rejects.toThrow(/cannot read them/);
  });
});
