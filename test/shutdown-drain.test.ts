import { join } from "node:path";
import { expect, test } from "vitest";
import { CapturingAuditor } from "./helpers/auth-tokens.ts";
import { REPO_ROOT } from "./helpers/cli.ts";
import { BUN, connectClient, refusalOf, startTestGateway } from "./helpers/gateway.ts";

/**
 * A shutdown that outlasts its drain bound (issue 15, item 4): the calls still in flight get a
 * JSON-RPC error that names the shutdown (not a reset connection), the backend is told to cancel
 * them, and the audit records them as cancelled by the shutdown, not as a backend failure.
 */
test("calls in flight past MCPGW_SHUTDOWN_TIMEOUT are answered with an error naming the shutdown, and audited so", async () => {
  const auditor = new CapturingAuditor();
  const gw = await startTestGateway(
    [{ name: "lab", command: [BUN, join(REPO_ROOT, "test/fixtures/lab-server.ts"), "--stdio"], env: { LAB_NAME: "lab" } }],
    { shutdownTimeout: "1s" },
    { auditor },
  );
  const client = await connectClient(gw.mcpUrl("lab"));
  const calls = [
    refusalOf(client.callTool({ name: "sleep", arguments: { ms: 5_000 } })),
    refusalOf(client.callTool({ name: "sleep", arguments: { ms: 5_000 } })),
  ];
  await Bun.sleep(300);
  const started = performance.now();
  await gw.stop();
  const stoppedIn = performance.now() - started;
  for (const refusal of await Promise.all(calls)) {
    expect(refusal.code).toBe(-32016);
    expect(refusal.message).toContain("the gateway is shutting down and the call outlasted its 1s drain bound");
  }
  expect(stoppedIn).toBeLessThan(4_000);
  const outcomes = auditor.calls.filter((c) => c.context.target === "sleep").map((c) => c.outcome);
  expect(outcomes).toHaveLength(2);
  for (const outcome of outcomes) {
    expect(outcome).toMatchObject({ status: "cancelled", errorCode: -32016 });
    expect(outcome?.errorMessage).toContain("shutting down");
  }
  await client.close().catch(() => undefined);
});
