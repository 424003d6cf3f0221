import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { REPO_ROOT } from "./helpers/cli.ts";
import { BUN, NODE_MODULES, type TestGateway, conformanceFixtureStdio, startTestGateway } from "./helpers/gateway.ts";
import { freePort, startProcess, type StartedProcess } from "./helpers/process.ts";
import { runConformance2026 } from "./helpers/conformance-2026.ts";

const CONFORMANCE_CLI = join(NODE_MODULES, "@modelcontextprotocol/conformance/dist/index.js");

/** Runs the official conformance suite (its CLI needs Node 22 APIs, so it runs under Bun) and parses its summary. */
async function runConformance(url: URL): Promise<{ output: string; passed: number; failed: number; scenarios: string[] }> {
  const child = Bun.spawn([BUN, CONFORMANCE_CLI, "server", "--url", url.href], { cwd: REPO_ROOT, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  const output = stdout + stderr;
  const total = /Total: (\d+) passed, (\d+) failed/.exec(output);
  const scenarios = [...output.matchAll(/^([✓✗]) ([\w-]+):/gm)].map((m) => `${m[1]} ${m[2]}`);
  return { output, passed: Number(total?.[1] ?? 0), failed: Number(total?.[2] ?? -1), scenarios };
}

/** The 30 active server scenarios of @modelcontextprotocol/conformance 0.1.16, 40 checks in all. */
const ACTIVE_SCENARIOS = 30;
const ACTIVE_CHECKS = 40;

describe("MCP conformance suite through the gateway (/mcp/<fixture>)", () => {
  let gw: TestGateway;
  let fixtureHttp: StartedProcess;

  beforeAll(async () => {
    const port = await freePort();
    fixtureHttp = await startProcess([BUN, join(REPO_ROOT, "test/fixtures/conformance-server.ts"), "--port", String(port)], /listening on/);
    gw = await startTestGateway([
      { name: "conformance", command: conformanceFixtureStdio() },
      { name: "conformance-http", url: `http://127.0.0.1:${port}/mcp` },
    ]);
  }, 60_000);

  afterAll(async () => {
    await gw?.stop();
    fixtureHttp?.kill();
  });

  test.each(["conformance", "conformance-http"])(
    "every active scenario passes with the fixture behind %s",
    async (backend) => {
      const result = await runConformance(gw.mcpUrl(backend));
      expect(result.failed, result.output).toBe(0);
      expect(result.scenarios.filter((s) => s.startsWith("✓"))).toHaveLength(ACTIVE_SCENARIOS);
      expect(result.passed).toBe(ACTIVE_CHECKS);
    },
    180_000,
  );
});

describe("MCP 2026-07-28 conformance suite (0.2.0-alpha.12) through the gateway (/mcp/<modern fixture>)", () => {
  let gw: TestGateway;
  let fixtureHttp: StartedProcess;

  beforeAll(async () => {
    const port = await freePort();
    const fixture = join(REPO_ROOT, "test/fixtures/modern-server.ts");
    fixtureHttp = await startProcess([BUN, fixture, "--port", String(port)], /listening on/, { MODERN_NAME: "modern-http" });
    gw = await startTestGateway([
      { name: "modern", command: [BUN, fixture, "--stdio"], env: { MODERN_NAME: "modern" } },
      { name: "modern-http", url: `http://127.0.0.1:${port}/mcp` },
    ]);
  }, 60_000);

  afterAll(async () => {
    await gw?.stop();
    fixtureHttp?.kill();
  });

  test.each(["modern", "modern-http"])(
    "every required scenario passes with the modern fixture behind %s",
    async (backend) => {
      const run = await runConformance2026(gw.mcpUrl(backend).href);
      console.log(`${backend}: ${run.summary}`);
      expect(run.required.length, "the requirements file lists the server scenarios").toBeGreaterThan(30);
      expect(
        run.required.filter((name) => !run.requiredPassed.includes(name)),
        run.output,
      ).toEqual([]);
      // The optional scenarios too (x-mcp-header validation among them): no check fails.
      expect(run.failedChecks, run.output).toEqual([]);
      expect(run.totalFailed, run.output).toBe(0);
    },
    180_000,
  );
});
