import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { issueToken } from "../src/auth/token-issuer.ts";
import { parsePermission } from "../src/policy/permission.ts";
import type { Effect } from "../src/policy/policy.ts";
import { REPO_ROOT } from "./helpers/cli.ts";
import { BUN, type TestGateway, connectClient, refusalOf, startTestGateway } from "./helpers/gateway.ts";

/**
 * A rule's argument conditions see a prompt's or resource's request as the backend receives it,
 * on the aggregated endpoint /mcp as on /mcp/<backend>: there the name and URI carry the
 * backend's prefix (lab__lab-greeting, mcpgw://lab/lab://welcome), which the route takes off. A
 * deny rule with a condition on `uri` or `name` must not be stepped around through /mcp.
 */
const LAB = { name: "lab", command: [BUN, join(REPO_ROOT, "test/fixtures/lab-server.ts"), "--stdio"], env: { LAB_NAME: "lab" } };
const AUTH = { tokenIssuer: "mcpgw", tokenAudience: "mcpgw", signingAlg: "EdDSA" as const };

describe("argument conditions on prompts and resources, aggregated and direct", () => {
  let gw: TestGateway;
  let token = "";
  const clients: Client[] = [];
  beforeAll(async () => {
    gw = await startTestGateway(
      [LAB],
      { auth: "required" },
      {
        prepare: async (store) => {
          const rules = (list: [Effect, string][]) => list.map(([effect, text]) => ({ effect, permission: parsePermission(text) }));
          await store.roles.create({
            name: "reader",
            rules: rules([
              ["allow", "resource:lab/*"],
              ["allow", "prompt:lab/*"],
              ["deny", 'resource:lab/*[uri^="lab://welcome"]'],
              ["deny", 'prompt:lab/*[name="lab-greeting"]'],
            ]),
          });
          token = (await issueToken(store, AUTH, { subject: "reader", roles: ["reader"], ttlMs: 3_600_000 })).token;
        },
      },
    );
  }, 60_000);
  afterAll(async () => {
    for (const client of clients) await client.close().catch(() => undefined);
    await gw?.stop();
  });

  async function client(path: string): Promise<Client> {
    const connected = await connectClient(new URL(path, gw.base), {}, "conditions", { token });
    clients.push(connected);
    return connected;
  }

  test("a deny on the resource's uri holds on /mcp/lab and on /mcp; other resources are read", async () => {
    const direct = await client("/mcp/lab");
    const aggregated = await client("/mcp");
    expect((await refusalOf(direct.readResource({ uri: "lab://welcome" }))).message).toContain("denied by policy");
    expect((await refusalOf(aggregated.readResource({ uri: "mcpgw://lab/lab://welcome" }))).message).toContain("denied by policy");
    expect((await direct.readResource({ uri: "lab://filler/1" })).contents).toHaveLength(1);
    expect((await aggregated.readResource({ uri: "mcpgw://lab/lab://filler/1" })).contents).toHaveLength(1);
  });

  test("a deny on the prompt's name holds on /mcp/lab and on /mcp; other prompts are got", async () => {
    const direct = await client("/mcp/lab");
    const aggregated = await client("/mcp");
    expect((await refusalOf(direct.getPrompt({ name: "lab-greeting", arguments: { who: "x" } }))).message).toContain("denied by policy");
    expect((await refusalOf(aggregated.getPrompt({ name: "lab__lab-greeting", arguments: { who: "x" } }))).message).toContain("denied by policy");
    expect((await direct.getPrompt({ name: "filler-1" })).messages.length).toBeGreaterThan(0);
    expect((await aggregated.getPrompt({ name: "lab__filler-1" })).messages.length).toBeGreaterThan(0);
  });
});
