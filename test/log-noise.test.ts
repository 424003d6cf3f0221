import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, expect, test } from "vitest";
import { REPO_ROOT } from "./helpers/cli.ts";
import { BUN, type TestGateway, sessionTracker, startTestGateway } from "./helpers/gateway.ts";
import { type StartedProcess, freePort, startProcess } from "./helpers/process.ts";

/**
 * Log noise (issue 15, item 11): a normal session end is not a warning, and a backend's stderr
 * line names its backend once.
 */
const LAB = join(REPO_ROOT, "test/fixtures/lab-server.ts");
const lines: string[] = [];
let gw: TestGateway;
let labHttp: StartedProcess;

beforeAll(async () => {
  const port = await freePort();
  labHttp = await startProcess([BUN, LAB, "--port", String(port)], /listening on/, { LAB_NAME: "lab-http" });
  const logger = pino({ level: "debug" }, { write: (line: string) => void lines.push(line) });
  gw = await startTestGateway(
    [
      { name: "lab-http", url: `http://127.0.0.1:${port}/mcp` },
      { name: "lab", command: [BUN, LAB, "--stdio"], env: { LAB_NAME: "lab" } },
    ],
    {},
    { logger },
  );
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  labHttp?.kill();
});

const sessions = sessionTracker("log-noise");

test("ending sessions with dedicated HTTP backend connections logs no warning", async () => {
  for (let i = 0; i < 3; i++) {
    // A sampling-capable client gets a connection of its own, closed when its session ends.
    const client = await sessions.open(gw.mcpUrl("lab-http"), { sampling: {} });
    await client.callTool({ name: "echo", arguments: { text: "hi" } });
  }
  const before = lines.length;
  await sessions.endAll();
  await Bun.sleep(300);
  const warnings = lines
    .slice(before)
    .map((line) => JSON.parse(line) as { level: number; msg: string; err?: string })
    .filter((record) => record.level >= 40);
  expect(warnings).toEqual([]);
});

test("a backend's stderr line carries its backend once", async () => {
  const client = await sessions.open(gw.mcpUrl("lab"));
  await client.callTool({ name: "crash", arguments: {} }).catch(() => undefined);
  await sessions.endAll();
  let line: string | undefined;
  for (let i = 0; i < 50 && !line; i++) {
    line = lines.find((l) => l.includes("crashing on request"));
    if (!line) await Bun.sleep(20);
  }
  expect(line).toBeDefined();
  expect(line!.match(/"backend":/g)).toHaveLength(1);
  expect(JSON.parse(line!)).toMatchObject({ backend: "lab", stream: "stderr", msg: "lab: crashing on request" });
});
