import { afterAll, describe, expect, test } from "vitest";
import type { BackendSpec } from "./backend-spec.ts";
import { runAsCall } from "../credentials/call-context.ts";
import { CredentialBinder } from "./credential-binder.ts";
import { SubjectToken } from "../credentials/subject-token.ts";

/** A token endpoint that issues `exchanged-N` for an hour, counting requests. */
let exchanges = 0;
const endpoint = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch: async () => Response.json({ access_token: `exchanged-${++exchanges}`, token_type: "Bearer", expires_in: 3_600 }),
});
afterAll(() => endpoint.stop(true));

const SPEC: BackendSpec = {
  name: "tickets",
  transport: "streamable-http",
  url: "http://127.0.0.1:9/mcp",
  env: {},
  headers: {},
  timeoutMs: 5_000,
  createdAt: 0,
  updatedAt: 0,
  auth: { mode: "token-exchange", tokenEndpoint: `http://127.0.0.1:${endpoint.port}/token`, clientId: "mcpgw", clientSecret: "${EXCHANGE_SECRET}" },
};
const ALICE = { subject: "alice", roles: ["agents"] };
const aliceCall = { id: "call-1", subject: "alice", roles: ["agents"], subjectToken: new SubjectToken("idp-token-of-alice") };

describe("token-exchange credential", () => {
  test("bound per caller; headers come from the exchange, cached; another caller's call and a call without an IdP token are stopped", async () => {
    const binder = new CredentialBinder({ env: { EXCHANGE_SECRET: "s" } });
    const alice = binder.bind(SPEC, ALICE).credential!;
    expect(alice.mode).toBe("token-exchange");
    expect(binder.bind(SPEC, { subject: "bob", roles: ["agents"] }).credential!.key).not.toBe(alice.key);
    // Outside any call, before an exchange: nothing to send.
    await expect(alice.headers()).rejects.toThrow(/needs an identity-provider login/);
    const before = exchanges;
    expect(await runAsCall(aliceCall, () => alice.headers())).toEqual({ Authorization: `Bearer exchanged-${before + 1}` });
    expect(await runAsCall({ ...aliceCall, id: "call-2" }, () => alice.headers())).toEqual({ Authorization: `Bearer exchanged-${before + 1}` });
    expect(exchanges).toBe(before + 1);
    // A connection's own traffic outside a call (closing its session) uses what this subject was issued.
    expect(await alice.headers()).toEqual({ Authorization: `Bearer exchanged-${before + 1}` });
    const bobCall = { id: "call-3", subject: "bob", roles: ["agents"], subjectToken: new SubjectToken("idp-token-of-bob") };
    await expect(runAsCall(bobCall, () => alice.headers())).rejects.toThrow(/another caller's credential/);
    // Alice by a gateway-issued token: no IdP token, so not the exchanged token either.
    await expect(runAsCall({ id: "call-4", subject: "alice", roles: ["agents"] }, () => alice.headers())).rejects.toThrow(/needs an identity-provider login/);
    expect(exchanges).toBe(before + 1);
  });

  test("an unset --client-secret variable is named, and nothing is exchanged", async () => {
    const alice = new CredentialBinder({ env: {} }).bind(SPEC, ALICE).credential!;
    const before = exchanges;
    await expect(runAsCall(aliceCall, () => alice.headers())).rejects.toThrow(
      /backend "tickets": flag "--client-secret" uses \$\{EXCHANGE_SECRET\}, but EXCHANGE_SECRET is not set in mcpgw's environment/,
    );
    expect(exchanges).toBe(before);
  });
});
