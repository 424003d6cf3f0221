import { Database } from "bun:sqlite";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { REPO_ROOT } from "./helpers/cli.ts";
import { CapturingAuditor } from "./helpers/auth-tokens.ts";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { BUN, type TestGateway, backendSpec, connectClient, listAllTools, refusalOf, sessionTracker, startTestGateway } from "./helpers/gateway.ts";

/**
 * Session and process economy (issue 15, item 9): a sampling-capable session on /mcp gets its own
 * backend connection (for stdio, a process) only for the backends it calls, on first use, not for
 * every backend at initialize.
 */
const MARKER = `economy-${crypto.randomUUID().slice(0, 8)}`;
const LAB = join(REPO_ROOT, "test/fixtures/lab-server.ts");
const SESSIONS = 10;
let gw: TestGateway;

/** Processes on this machine whose command line holds `text` (read from /proc). */
function processesWith(text: string): number {
  let count = 0;
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(text)) count += 1;
    } catch {
      // gone meanwhile
    }
  }
  return count;
}

beforeAll(async () => {
  gw = await startTestGateway(
    ["alpha", "beta", "gamma"].map((name) => ({ name, command: [BUN, LAB, "--stdio", `--${MARKER}-${name}`], env: { LAB_NAME: name } })),
  );
}, 60_000);
afterAll(async () => gw?.stop());

const sessions = sessionTracker("economy");

test(`${SESSIONS} sampling-capable sessions on /mcp, each calling one backend of three, start processes for that backend only`, async () => {
  for (let i = 0; i < SESSIONS; i++) {
    const client = await sessions.open(gw.mcpUrl(), { sampling: {} });
    // Everything the session offers is there before any backend is called.
    expect(await listAllTools(client)).toEqual(expect.arrayContaining(["alpha__echo", "beta__echo", "gamma__echo"]));
    expect(await client.callTool({ name: "alpha__echo", arguments: { text: `s${i}` } })).toMatchObject({ content: [{ text: `alpha: s${i}` }] });
  }
  const counts = Object.fromEntries(["alpha", "beta", "gamma"].map((name) => [name, processesWith(`--${MARKER}-${name}`)]));
  console.log(`processes with ${SESSIONS} sampling-capable sessions calling alpha: ${JSON.stringify(counts)}`);
  // Per backend, one shared connection (what the sessions offer) and one for the lists of clients with these
  // capabilities; for alpha, also one of its own per session.
  expect(counts).toEqual({ alpha: SESSIONS + 2, beta: 2, gamma: 2 });
  await sessions.endAll();
  for (let i = 0; i < 100 && processesWith(`--${MARKER}-alpha`) > 2; i++) await Bun.sleep(50);
  expect(processesWith(`--${MARKER}-alpha`)).toBe(2);
}, 60_000);

describe("processes per stdio backend (MCPGW_MAX_PROCESSES_PER_BACKEND)", () => {
  const CAP = 3;
  const marker = `--cap-${crypto.randomUUID().slice(0, 8)}`;
  const auditor = new CapturingAuditor();
  let capped: TestGateway;
  const clients = sessionTracker("capped");

  beforeAll(async () => {
    capped = await startTestGateway(
      [{ name: "capped", command: [BUN, LAB, "--stdio", `${marker}-capped`], env: { LAB_NAME: "capped" } }],
      { maxProcessesPerBackend: String(CAP) },
      {
        auditor,
        // A backend's own cap, as `backend add tight --command … --max-processes 2` stores it, wins over the gateway's.
        prepare: (store) =>
          store.backends.add({
            ...backendSpec({ name: "tight", command: [BUN, LAB, "--stdio", `${marker}-tight`], env: { LAB_NAME: "tight" } }),
            limits: { maxProcesses: 2 },
          }),
      },
    );
  }, 60_000);
  afterAll(async () => {
    await clients.endAll();
    await capped?.stop();
  });

  test(`with a cap of ${CAP}, busy processes are never closed: a session that needs one more gets -32017 at once; idle ones make room, least recently used first, and reopen on next use`, async () => {
    const [a, b, c] = [
      await clients.open(capped.mcpUrl(), { sampling: {} }),
      await clients.open(capped.mcpUrl(), { sampling: {} }),
      await clients.open(capped.mcpUrl(), { sampling: {} }),
    ];
    // The shared connection (what the sessions offer) holds one place; a and b take the other two with calls in flight.
    const sleeping = [a, b].map((client) => client.callTool({ name: "capped__sleep", arguments: { ms: 1_500 } }));
    await Bun.sleep(700);
    expect(processesWith(`${marker}-capped`)).toBe(CAP);
    const started = performance.now();
    const refused = await refusalOf(c.callTool({ name: "capped__echo", arguments: { text: "c" } }));
    expect(performance.now() - started).toBeLessThan(500);
    expect(refused.code).toBe(-32017);
    expect(refused.message).toContain(`backend "capped" is at its cap of ${CAP} processes (MCPGW_MAX_PROCESSES_PER_BACKEND) and each one is serving a call`);
    expect(refused.message).toContain("raise MCPGW_MAX_PROCESSES_PER_BACKEND");
    expect(refused.data).toEqual({ backend: "capped", maxProcesses: CAP });
    // Audited as an error of the call, with the gateway's code.
    expect(auditor.calls.find((call) => call.outcome?.errorCode === -32017)).toMatchObject({
      context: { target: "echo", backend: "capped" },
      outcome: { status: "error" },
    });
    await Promise.all(sleeping);
    // a's process was used least recently: it makes room for c.
    await b.callTool({ name: "capped__echo", arguments: { text: "b again" } });
    expect(await c.callTool({ name: "capped__echo", arguments: { text: "c" } })).toMatchObject({ content: [{ text: "capped: c" }] });
    expect(processesWith(`${marker}-capped`)).toBeLessThanOrEqual(CAP);
    // a gets a process again on its next call (b's, now the least recently used, is closed for it).
    expect(await a.callTool({ name: "capped__echo", arguments: { text: "a again" } })).toMatchObject({ content: [{ text: "capped: a again" }] });
    expect(processesWith(`${marker}-capped`)).toBeLessThanOrEqual(CAP);
    expect(await b.callTool({ name: "capped__echo", arguments: { text: "b reopened" } })).toMatchObject({ content: [{ text: "capped: b reopened" }] });
    expect(processesWith(`${marker}-capped`)).toBeLessThanOrEqual(CAP);
  }, 60_000);

  test("a backend's own --max-processes wins over the gateway's, and the error names it", async () => {
    const [a, b] = [await clients.open(capped.mcpUrl(), { sampling: {} }), await clients.open(capped.mcpUrl(), { sampling: {} })];
    const sleeping = a.callTool({ name: "tight__sleep", arguments: { ms: 1_000 } });
    await Bun.sleep(500);
    const refused = await refusalOf(b.callTool({ name: "tight__echo", arguments: { text: "b" } }));
    expect(refused.code).toBe(-32017);
    expect(refused.message).toContain('backend "tight" is at its cap of 2 processes (its --max-processes)');
    expect(refused.message).toContain("mcpgw backend add tight … --max-processes N");
    expect(processesWith(`${marker}-tight`)).toBe(2);
    await sleeping;
    expect(await b.callTool({ name: "tight__echo", arguments: { text: "b" } })).toMatchObject({ content: [{ text: "tight: b" }] });
    expect(processesWith(`${marker}-tight`)).toBe(2);
  }, 60_000);
});

describe("sessions per subject, opened at once", () => {
  test("initializes that arrive together stay within the subject's cap, each ending a different idle session", async () => {
    const CAP = 4;
    const { issueToken } = await import("../src/auth/token-issuer.ts");
    const { parsePermission } = await import("../src/policy/permission.ts");
    let token = "";
    const gw = await startTestGateway(
      [{ name: "lab", command: [BUN, LAB, "--stdio"], env: { LAB_NAME: "lab" } }],
      { auth: "required", maxSessionsPerSubject: String(CAP) },
      {
        // The store's own auditor: its writes take real time, during which the other initializes go on.
        prepare: async (store) => {
          await store.roles.create({ name: "lab-user", rules: [{ effect: "allow", permission: parsePermission("lab/*") }] });
          token = (
            await issueToken(
              store,
              { tokenIssuer: "mcpgw", tokenAudience: "mcpgw", signingAlg: "EdDSA" },
              { subject: "olga", roles: ["lab-user"], ttlMs: 600_000 },
            )
          ).token;
        },
      },
    );
    const clients: Client[] = [];
    try {
      const open = () => connectClient(gw.mcpUrl("lab"), {}, "burst", { token }).then((client) => void clients.push(client));
      for (let i = 0; i < CAP; i++) await open();
      // As many again at once: before, each chose the same oldest session, and the subject ended up over its cap.
      await Promise.all(Array.from({ length: CAP }, open));
      const metrics = await (await fetch(`${gw.base}/metrics`)).text();
      expect(metrics).toMatch(new RegExp(`^mcpgw_sessions ${CAP}$`, "m"));
      await Bun.sleep(300);
      const audit = new Database(gw.gateway.store.location.slice("sqlite:".length), { readonly: true });
      const evicted = audit
        .query<{ session_id: string }, []>("SELECT session_id FROM audit_events WHERE method = 'session end' AND decision = 'evicted'")
        .all()
        .map((row) => row.session_id);
      const refused = audit.query<{ n: number }, []>("SELECT count(*) AS n FROM audit_events WHERE method = 'initialize' AND status = 'rate_limited'").get()!.n;
      audit.close();
      expect(evicted).toHaveLength(CAP);
      expect(new Set(evicted).size).toBe(CAP);
      expect(refused).toBe(0);
    } finally {
      for (const client of clients) await client.close().catch(() => undefined);
      await gw.stop();
    }
  }, 60_000);
});
