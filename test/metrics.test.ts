import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { issueToken } from "../src/auth/token-issuer.ts";
import { parsePermission } from "../src/policy/permission.ts";
import { capturingLogger } from "./helpers/auth-tokens.ts";
import { REPO_ROOT } from "./helpers/cli.ts";
import { BUN, type TestGateway, connectClient, startTestGateway } from "./helpers/gateway.ts";

const LAB = { name: "lab", command: [BUN, join(REPO_ROOT, "test/fixtures/lab-server.ts"), "--stdio"], env: { LAB_NAME: "lab" } };

/** The value of one series in Prometheus text, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("/metrics and the per-call log line", () => {
  let gw: TestGateway;
  const { logger, records } = capturingLogger("info");

  beforeAll(async () => {
    let token = "";
    gw = await startTestGateway([LAB], { auth: "required" }, {
      logger,
      prepare: async (store) => {
        await store.roles.create({ name: "echoer", rules: [{ effect: "allow", permission: parsePermission("lab/echo") }] });
        token = (await issueToken(store, { tokenIssuer: "mcpgw", tokenAudience: "mcpgw", signingAlg: "EdDSA" }, { subject: "lena", roles: ["echoer"], ttlMs: 600_000 })).token;
      },
    });
    const client = await connectClient(gw.mcpUrl("lab"), {}, "metrics", { token });
    await client.callTool({ name: "echo", arguments: { text: "arg-7f3a-one" } });
    await client.callTool({ name: "echo", arguments: { text: "arg-7f3a-two" } });
    await client.callTool({ name: "sleep", arguments: { ms: 1 } }).catch(() => undefined);
    expect((await fetch(gw.mcpUrl("lab"), { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })).status).toBe(401);
  }, 60_000);
  afterAll(async () => gw?.stop());

  test("calls by backend, method, tool and outcome; refusals by reason; latency; sessions — open without a token", async () => {
    const response = await fetch(new URL("/metrics", gw.base));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/plain; version=0.0.4");
    const text = await response.text();
    expect(sample(text, 'mcpgw_calls_total{backend="lab",method="tools/call",target="echo",status="ok"}')).toBe(2);
    expect(sample(text, 'mcpgw_calls_total{backend="lab",method="tools/call",target="sleep",status="denied"}')).toBe(1);
    expect(sample(text, 'mcpgw_refusals_total{reason="denied"}')).toBe(1);
    expect(sample(text, 'mcpgw_refusals_total{reason="unauthenticated"}')).toBe(1);
    expect(sample(text, 'mcpgw_call_duration_seconds_count{backend="lab",method="tools/call"}')).toBe(2);
    expect(sample(text, 'mcpgw_call_duration_seconds_bucket{backend="lab",method="tools/call",le="+Inf"}')).toBe(2);
    expect(sample(text, "mcpgw_sessions")).toBeGreaterThanOrEqual(1);
    expect(text).toContain("# TYPE mcpgw_call_duration_seconds histogram");
  });

  test("one log line per call: who, what, how it ended, how long — never the arguments", () => {
    const calls = records.filter((r) => r.msg === "call");
    expect(calls.map((r) => [r.subject, r.method, r.backend, r.target, r.status])).toEqual([
      ["lena", "tools/call", "lab", "echo", "ok"],
      ["lena", "tools/call", "lab", "echo", "ok"],
      ["lena", "tools/call", "lab", "sleep", "denied"],
    ]);
    for (const call of calls) {
      expect(typeof call.ms).toBe("number");
      expect(JSON.stringify(call)).not.toContain("arg-7f3a");
    }
  });
});
