import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { issueToken } from "../src/auth/token-issuer.ts";
import { parsePermission } from "../src/policy/permission.ts";
import type { Effect } from "../src/policy/policy.ts";
import { openStore } from "../src/store/open-store.ts";
import type { Store } from "../src/store/store.ts";
import { CapturingAuditor } from "./helpers/auth-tokens.ts";
import { REPO_ROOT, cleanEnv } from "./helpers/cli.ts";
import { BUN, type TestGateway, backendSpec, connectClient, listAllTools, startTestGateway, refusalOf } from "./helpers/gateway.ts";
import { type IsolatedSchema, isolatedSchema, postgresAvailable } from "./helpers/postgres.ts";
import { type StartedProcess, startProcess } from "./helpers/process.ts";

const LAB = (name: string) => ({ name, command: [BUN, join(REPO_ROOT, "test/fixtures/lab-server.ts"), "--stdio"], env: { LAB_NAME: name } });
const AUTH = { tokenIssuer: "mcpgw", tokenAudience: "mcpgw", signingAlg: "EdDSA" as const };

/** The two roles of these tests, as `mcpgw role create` would store them. */
async function createRoles(store: Store): Promise<void> {
  const rules = (list: [Effect, string][]) => list.map(([effect, text]) => ({ effect, permission: parsePermission(text) }));
  await store.roles.create({
    name: "gh-user",
    rules: rules([
      ["allow", "gh/*"],
      ["deny", "gh/crash"],
      ["deny", "gh/add-tool"],
    ]),
  });
  await store.roles.create({
    name: "fs-reader",
    rules: rules([
      ["allow", 'fs/echo[text^="safe"]'],
      ["allow", "resource:fs/lab://*"],
    ]),
  });
}

async function token(store: Store, subject: string, roles: string[]) {
  return issueToken(store, AUTH, { subject, roles, ttlMs: 3_600_000 });
}

async function toolNames(client: Client): Promise<string[]> {
  return (await listAllTools(client)).sort();
}

/** Polls until `check` passes (the running gateway applies CLI changes within a second). */
async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < ms) {
    if (await check()) return performance.now() - started;
    await Bun.sleep(50);
  }
  throw new Error(`not within ${ms} ms`);
}

describe("RBAC through the gateway (SQLite, authentication required)", () => {
  let gw: TestGateway;
  const auditor = new CapturingAuditor();
  let alice: Client;
  let bob: Client;
  let aliceJti = "";

  beforeAll(async () => {
    let tokens: { alice: string; bob: string } | undefined;
    gw = await startTestGateway(
      [LAB("gh"), LAB("fs")],
      { auth: "required" },
      {
        auditor,
        prepare: async (store) => {
          await createRoles(store);
          // bob's role comes from a grant in the database, alice's from her token.
          await store.roles.grant("fs-reader", "bob");
          const a = await token(store, "alice", ["gh-user"]);
          aliceJti = a.record.jti;
          tokens = { alice: a.token, bob: (await token(store, "bob", [])).token };
        },
      },
    );
    alice = await connectClient(gw.mcpUrl(), {}, "alice", { token: tokens!.alice });
    bob = await connectClient(gw.mcpUrl(), {}, "bob", { token: tokens!.bob });
  }, 60_000);

  afterAll(async () => {
    await Promise.all([alice?.close(), bob?.close()]);
    await gw?.stop();
  });

  test("each caller's tools/list shows only what its roles allow", async () => {
    expect(await toolNames(alice)).toEqual(["gh__cancelled-requests", "gh__echo", "gh__sleep", "gh__sleep-peak"]);
    expect(await toolNames(bob)).toEqual(["fs__echo"]);
    const resources = async (client: Client) => {
      const uris: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await client.listResources(cursor === undefined ? {} : { cursor });
        uris.push(...page.resources.map((r) => r.uri));
        cursor = page.nextCursor;
      } while (cursor !== undefined);
      return uris;
    };
    expect(await resources(bob)).toContain("mcpgw://fs/lab://welcome");
    expect(await resources(alice)).toEqual([]);
  });

  test("a call outside the caller's roles is refused as policy, and audited with the rule", async () => {
    const refused = await refusalOf(alice.callTool({ name: "fs__echo", arguments: { text: "safe" } }));
    expect(refused.code).toBe(-32012);
    // Exactly one "MCP error" prefix (the client's own): the gateway sends the plain message.
    expect(refused.message).toBe(
      `MCP error -32012: denied by policy: "alice" may not use tool "fs/echo" (default deny: no allow rule of the caller's roles matches)`,
    );
    const crash = await refusalOf(alice.callTool({ name: "gh__crash" }));
    expect(crash.message).toContain("deny gh/crash (role gh-user)");
    const audited = auditor.refusals.filter((r) => r.context.subject === "alice");
    expect(audited[0]?.outcome.errorMessage).toMatch(/^denied by policy: /);
    expect(audited.map((r) => [r.outcome.status, r.context.backend, r.context.target, r.outcome.rule])).toEqual([
      ["denied", "fs", "echo", "default deny: no allow rule of the caller's roles matches"],
      ["denied", "gh", "crash", "deny gh/crash (role gh-user)"],
    ]);
  });

  test("an allowed call goes through, and an argument condition decides per call", async () => {
    expect(((await alice.callTool({ name: "gh__echo", arguments: { text: "hi" } })).content as { text: string }[])[0]!.text).toBe("gh: hi");
    expect(((await bob.callTool({ name: "fs__echo", arguments: { text: "safe words" } })).content as { text: string }[])[0]!.text).toBe("fs: safe words");
    const refused = await refusalOf(bob.callTool({ name: "fs__echo", arguments: { text: "unsafe" } }));
    expect(refused.message).toContain("its argument conditions do not hold");
    // bob's token carries no role: the record names the role granted in the database, which the rule came from.
    const bobs = auditor.refusals.filter((r) => r.context.subject === "bob");
    expect(bobs.at(-1)?.context.roles).toEqual(["fs-reader"]);
    expect(auditor.calls.find((c) => c.context.subject === "bob")?.context.roles).toEqual(["fs-reader"]);
  });

  test("a role grant applies to the running gateway within a second", async () => {
    await gw.gateway.store.roles.grant("fs-reader", "alice");
    const took = await within(1_000, async () => (await toolNames(alice)).includes("fs__echo"));
    expect(took).toBeLessThan(1_000);
    expect(((await alice.callTool({ name: "fs__echo", arguments: { text: "safe" } })).content as { text: string }[])[0]!.text).toBe("fs: safe");
  });

  test("a revoked token is refused by the running gateway within a second", async () => {
    await gw.gateway.store.tokens.revoke(aliceJti, Date.now());
    const took = await within(1_000, async () => {
      try {
        await alice.listTools();
        return false;
      } catch {
        return true;
      }
    });
    expect(took).toBeLessThan(1_000);
  });
});

describe("RBAC changes reach two gateway processes on one Postgres database within a second", () => {
  let schema: IsolatedSchema | undefined;
  const gateways: StartedProcess[] = [];
  const urls: URL[] = [];
  let carol = { token: "", jti: "" };

  beforeAll(async () => {
    if (!(await postgresAvailable())) return;
    schema = await isolatedSchema("rbac");
    const store = openStore(schema.url);
    await store.migrate();
    await store.backends.add(backendSpec(LAB("gh")));
    await createRoles(store);
    const issued = await token(store, "carol", []);
    carol = { token: issued.token, jti: issued.record.jti };
    await store.close();
    for (let i = 0; i < 2; i++) {
      const gateway = await startProcess([BUN, join(REPO_ROOT, "cli/main.ts"), "serve", "--port", "0", "--db", schema.url], /mcpgw listening/, cleanEnv());
      gateways.push(gateway);
      urls.push(new URL("mcp/gh", /"url":"([^"]+)"/.exec(gateway.output())![1]));
    }
  }, 60_000);

  afterAll(async () => {
    for (const gateway of gateways) gateway.kill();
    await Promise.all(gateways.map((g) => g.exited));
    await schema?.drop();
  });

  test("grant, then revoke: both replicas follow", async (context) => {
    if (!schema) return context.skip();
    const clients = await Promise.all(urls.map((url) => connectClient(url, {}, "carol", { token: carol.token })));
    try {
      for (const client of clients) expect(await toolNames(client)).toEqual([]);
      const store = openStore(schema.url);
      try {
        await store.roles.grant("gh-user", "carol");
        for (const client of clients) await within(1_000, async () => (await toolNames(client)).includes("echo"));
        await store.tokens.revoke(carol.jti, Date.now());
        for (const client of clients) {
          await within(1_000, async () => {
            try {
              await client.listTools();
              return false;
            } catch {
              return true;
            }
          });
        }
      } finally {
        await store.close();
      }
    } finally {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    }
  }, 30_000);
});
