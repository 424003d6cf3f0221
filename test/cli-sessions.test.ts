import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { REPO_ROOT, runCli } from "./helpers/cli.ts";
import { BUN, type TestGateway, connectClient, startTestGateway } from "./helpers/gateway.ts";
import { publishStaleGateway } from "./helpers/stale-gateway.ts";

/**
 * `mcpgw sessions list` (issue 15, item 9) against the database a running gateway publishes its
 * sessions to: the CLI is a separate process that knows the gateway only through the database.
 */
const LAB = join(REPO_ROOT, "test/fixtures/lab-server.ts");
const MARKER = `--sessions-cli-${crypto.randomUUID().slice(0, 8)}`;
const INTERVAL_MS = 200;

interface Listed {
  id: string;
  subject: string;
  client: string | null;
  route: string;
  ageSec: number;
  idleSec: number;
  dedicated: { backend: string; pid: number | null }[];
  gateway: { instance: string; pid: number; stale: boolean };
}

/** The parent pid and command line of a process, from /proc. */
function processInfo(pid: number): { ppid: number; cmdline: string } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return { ppid: Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]), cmdline: readFileSync(`/proc/${pid}/cmdline`, "utf8") };
}

describe("mcpgw sessions list", () => {
  let gw: TestGateway;
  let db: string;
  const tokens: Record<string, string> = {};
  const clients: Client[] = [];

  beforeAll(async () => {
    const { issueToken } = await import("../src/auth/token-issuer.ts");
    const { parsePermission } = await import("../src/policy/permission.ts");
    gw = await startTestGateway(
      [{ name: "alpha", command: [BUN, LAB, "--stdio", MARKER], env: { LAB_NAME: "alpha" } }],
      { auth: "required", sessionSnapshotInterval: `${INTERVAL_MS}ms` },
      {
        prepare: async (store) => {
          await store.roles.create({ name: "lab-user", rules: [{ effect: "allow", permission: parsePermission("alpha/*") }] });
          for (const subject of ["kira", "lev"])
            tokens[subject] = (
              await issueToken(store, { tokenIssuer: "mcpgw", tokenAudience: "mcpgw", signingAlg: "EdDSA" }, { subject, roles: ["lab-user"], ttlMs: 600_000 })
            ).token;
        },
      },
    );
    db = gw.gateway.store.location;
  }, 60_000);
  afterAll(async () => {
    for (const client of clients) await client.close().catch(() => undefined);
    await gw?.stop();
  });

  test("shows each session's subject, client, route, age, idle time and its own backend processes (real pids), as JSON and as a table", async () => {
    const sampler = await connectClient(gw.mcpUrl(), { sampling: {} }, "sampler", { token: tokens.kira });
    const plain = await connectClient(gw.mcpUrl("alpha"), {}, "plain", { token: tokens.lev });
    clients.push(sampler, plain);
    await sampler.callTool({ name: "alpha__echo", arguments: { text: "hi" } });
    await plain.callTool({ name: "echo", arguments: { text: "hi" } });
    await Bun.sleep(3 * INTERVAL_MS);

    const json = await runCli(["sessions", "list", "--json", "--db", db]);
    expect(json.stderr).toBe("");
    expect(json.code).toBe(0);
    const sessions = JSON.parse(json.stdout) as Listed[];
    expect(sessions).toHaveLength(2);
    const kira = sessions.find((s) => s.subject === "kira")!;
    const lev = sessions.find((s) => s.subject === "lev")!;
    expect(kira).toMatchObject({ client: "sampler 1.0.0", route: "/mcp", gateway: { pid: process.pid, stale: false } });
    expect(lev).toMatchObject({ client: "plain 1.0.0", route: "/mcp/alpha", dedicated: [] });
    expect(kira.ageSec).toBeGreaterThanOrEqual(0);
    expect(kira.idleSec).toBeLessThan(5);
    // The sampling-capable session's own process at alpha: a real child of this (the gateway's) process.
    expect(kira.dedicated).toHaveLength(1);
    const own = kira.dedicated[0]!;
    expect(own.backend).toBe("alpha");
    expect(own.pid).toBeGreaterThan(0);
    const info = processInfo(own.pid!);
    expect(info.ppid).toBe(process.pid);
    expect(info.cmdline).toContain(MARKER);

    const table = await runCli(["sessions", "list", "--db", db]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^SESSION\s+SUBJECT\s+CLIENT\s+ROUTE\s+AGE\s+IDLE\s+OWN PROCESSES$/);
    expect(lines.find((line) => line.startsWith(kira.id))).toMatch(new RegExp(`kira\\s+sampler 1\\.0\\.0\\s+/mcp\\s+.*alpha:${own.pid}$`));
    expect(lines.find((line) => line.startsWith(lev.id))).toMatch(/lev\s+plain 1\.0\.0\s+\/mcp\/alpha\s+.*-$/);
    console.log(`mcpgw sessions list, with the gateway running:\n${table.stdout}`);
  }, 60_000);

  test("a gateway that stopped publishing is left out (and said so), or shown as stale with --include-stale", async () => {
    const store = gw.gateway.store;
    const instance = await publishStaleGateway(store);
    try {
      const listed = await runCli(["sessions", "list", "--json", "--db", db]);
      expect((JSON.parse(listed.stdout) as Listed[]).map((s) => s.subject)).not.toContain("zed");
      const table = await runCli(["sessions", "list", "--db", db]);
      expect(table.stderr).toContain(
        "1 gateway stopped publishing (crashed, or cut off from the database): their sessions are left out; show them with --include-stale",
      );
      const all = await runCli(["sessions", "list", "--include-stale", "--db", db]);
      expect(all.stdout).toMatch(new RegExp(`ghost-session\\s+zed\\s+-\\s+/mcp\\s+.*${instance.replace(/\./g, "\\.")} \\(stale\\)`));
    } finally {
      await store.sessionSnapshots.remove(instance);
    }
  });

  test("an ended session leaves the list at the next publication; a gateway that stops cleanly removes its snapshot", async () => {
    const leaving = await connectClient(gw.mcpUrl("alpha"), {}, "leaving", { token: tokens.lev });
    await Bun.sleep(3 * INTERVAL_MS);
    const before = JSON.parse((await runCli(["sessions", "list", "--json", "--db", db])).stdout) as Listed[];
    expect(before.map((s) => s.client)).toContain("leaving 1.0.0");
    await (leaving.transport as { terminateSession?: () => Promise<void> }).terminateSession?.();
    await leaving.close();
    await Bun.sleep(3 * INTERVAL_MS);
    const after = JSON.parse((await runCli(["sessions", "list", "--json", "--db", db])).stdout) as Listed[];
    expect(after.map((s) => s.client)).not.toContain("leaving 1.0.0");

    const path = db.slice("sqlite:".length);
    await gw.gateway.shutdown();
    const stopped = await runCli(["sessions", "list", "--db", `sqlite:${path}`]);
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toContain("no running gateway has published sessions to this database");
  }, 60_000);
});
