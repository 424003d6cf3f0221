import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { REPO_ROOT } from "./helpers/cli.ts";
import { BUN, type TestGateway, listAllTools, sessionTracker, startTestGateway } from "./helpers/gateway.ts";

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
  gw = await startTestGateway(["alpha", "beta", "gamma"].map((name) => ({ name, command: [BUN, LAB, "--stdio", `--${MARKER}-${name}`], env: { LAB_NAME: name } })));
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
