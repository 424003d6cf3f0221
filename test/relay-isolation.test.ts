import { readdirSync, readFileSync } from "node:fs";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { CreateMessageRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type TestGateway, connectClient, everythingStdio, startTestGateway } from "./helpers/gateway.ts";

const SESSIONS = 50;
const CALLS_PER_SESSION = 100;
const MARK = `isolation-${crypto.randomUUID()}`;

/** Processes on this machine whose environment carries our marker: the backend processes of this test. */
function backendProcesses(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, "latin1").includes(`MCPGW_TEST_MARK=${MARK}`)) pids.push(Number(entry));
    } catch {
      // the process ended, or is not ours to read
    }
  }
  return pids;
}

function text(result: unknown): string {
  const content = (result as { content?: { type: string; text?: string }[] }).content ?? [];
  return content.map((block) => block.text ?? "").join("");
}

/**
 * Many client sessions over ONE shared stdio backend (server-everything): the SDK client on the
 * gateway's side mints its own ids, so colliding client ids never cross; progress comes back
 * under each client's own token. Clients that declare sampling get a dedicated connection, so a
 * server→client request reaches exactly the session whose call caused it.
 */
describe("session isolation over a shared stdio backend", () => {
  let gw: TestGateway;
  const clients: Client[] = [];

  beforeAll(async () => {
    gw = await startTestGateway([{ name: "everything", command: everythingStdio(), env: { MCPGW_TEST_MARK: MARK } }]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await gw?.stop();
  });

  test(`${SESSIONS} sessions × ${CALLS_PER_SESSION} calls: every response matches its request, one backend process`, async () => {
    const sessions = await Promise.all(Array.from({ length: SESSIONS }, (_, i) => connectClient(gw.mcpUrl("everything"), {}, `client-${i}`)));
    clients.push(...sessions);
    expect(backendProcesses()).toHaveLength(1);

    const mismatches: string[] = [];
    await Promise.all(
      sessions.map(async (client, s) => {
        // Four calls in flight per session, so request ids collide across sessions all the time.
        for (let batch = 0; batch < CALLS_PER_SESSION; batch += 4) {
          await Promise.all(
            [0, 1, 2, 3].map(async (k) => {
              const message = `s${s}-c${batch + k}-${crypto.randomUUID().slice(0, 8)}`;
              const result = await client.callTool({ name: "echo", arguments: { message } });
              if (text(result) !== `Echo: ${message}`) mismatches.push(`${message} → ${text(result)}`);
            }),
          );
        }
      }),
    );
    expect(mismatches).toEqual([]);
    expect(backendProcesses()).toHaveLength(1);
  }, 120_000);

  test("progress notifications reach only the session whose call they belong to", async () => {
    const sessions = await Promise.all(Array.from({ length: 10 }, (_, i) => connectClient(gw.mcpUrl("everything"), {}, `progress-${i}`)));
    clients.push(...sessions);
    const received = await Promise.all(
      sessions.map(async (client) => {
        const progress: number[] = [];
        // Every session's first call gets the same client-side progress token; the gateway must keep them apart.
        await client.callTool({ name: "trigger-long-running-operation", arguments: { duration: 1, steps: 5 } }, undefined, {
          onprogress: (p) => progress.push(p.progress),
        });
        return progress;
      }),
    );
    for (const progress of received) expect(progress).toEqual([1, 2, 3, 4, 5]);
  }, 60_000);

  test("sampling requests reach only the session whose call caused them", async () => {
    const handled = new Map<number, number>();
    const sessions = await Promise.all(
      Array.from({ length: 5 }, async (_, i) => {
        const client = await connectClient(gw.mcpUrl("everything"), { sampling: {} }, `sampler-${i}`);
        client.setRequestHandler(CreateMessageRequestSchema, async () => {
          handled.set(i, (handled.get(i) ?? 0) + 1);
          return { role: "assistant", model: "test", content: { type: "text", text: `reply-from-session-${i}` } };
        });
        return client;
      }),
    );
    clients.push(...sessions);
    const results = await Promise.all(
      sessions.map((client) => client.callTool({ name: "trigger-sampling-request", arguments: { prompt: "hello", maxTokens: 10 } })),
    );
    results.forEach((result, i) => {
      expect(text(result)).toContain(`reply-from-session-${i}`);
      for (let other = 0; other < 5; other++) if (other !== i) expect(text(result)).not.toContain(`reply-from-session-${other}"`);
    });
    expect([...handled.entries()].sort()).toEqual([0, 1, 2, 3, 4].map((i) => [i, 1]));
  }, 60_000);
});
