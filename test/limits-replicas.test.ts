import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { openStore } from "../src/store/open-store.ts";
import { REPO_ROOT, cleanEnv } from "./helpers/cli.ts";
import { BUN, backendSpec } from "./helpers/gateway.ts";
import { type IsolatedSchema, isolatedSchema, postgresAvailable } from "./helpers/postgres.ts";
import { type StartedProcess, startProcess } from "./helpers/process.ts";

const LAB = [BUN, join(REPO_ROOT, "test/fixtures/lab-server.ts"), "--stdio"];
const HAMMER_MS = 10_000;
/** The rule: 600/min (one call per 100 ms) with a burst of 60. */
const RULE = { count: 600, periodMs: 60_000, burst: 60 };
const INTERVAL_MS = RULE.periodMs / RULE.count;
/** The documented bound (docs/limits.md): over a window W a rule admits at most burst + (W + lease lifetime) / T. */
const LEASE_LIFETIME_MS = 1_000;

/** A raw Streamable HTTP session (JSON answers), cheap enough to hammer with. */
async function openSession(url: string) {
  const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };
  const init = await fetch(url, {
    method: "POST",
    headers,
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 0,
      method: "initialize",
      params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "hammer", version: "1" } },
    }),
  });
  await init.text();
  const session = { ...headers, "mcp-session-id": init.headers.get("mcp-session-id")!, "mcp-protocol-version": "2025-11-25" };
  let id = 0;
  return async (): Promise<"ok" | "limited" | "other"> => {
    const response = await fetch(url, {
      method: "POST",
      headers: session,
      body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method: "tools/call", params: { name: "echo", arguments: { text: "x" } } }),
    });
    const body = (await response.json()) as { result?: unknown; error?: { code: number } };
    return body.result ? "ok" : body.error?.code === -32013 ? "limited" : "other";
  };
}

describe("a global limit across two gateway processes on one Postgres database", () => {
  let schema: IsolatedSchema | undefined;
  const gateways: StartedProcess[] = [];
  const urls: string[] = [];

  beforeAll(async () => {
    if (!(await postgresAvailable())) return;
    schema = await isolatedSchema("replicas");
    const store = openStore(schema.url);
    await store.migrate();
    await store.backends.add(backendSpec({ name: "lab", command: LAB }));
    await store.limits.add({ id: "shared", scope: "global", createdAt: Date.now(), ...RULE });
    await store.close();
    for (let i = 0; i < 2; i++) {
      const gateway = await startProcess([BUN, join(REPO_ROOT, "cli/main.ts"), "serve", "--port", "0", "--db", schema.url], /mcpgw listening/, {
        ...cleanEnv(),
        MCPGW_AUTH: "off",
      });
      gateways.push(gateway);
      urls.push(`${/"url":"([^"]+)"/.exec(gateway.output())![1]}mcp/lab`);
    }
  }, 60_000);

  afterAll(async () => {
    for (const gateway of gateways) gateway.kill();
    await Promise.all(gateways.map((g) => g.exited));
    await schema?.drop();
  });

  test(`hammered together for ${HAMMER_MS / 1000} s, they admit no more than the rule plus its stated tolerance`, async (context) => {
    if (!schema) return context.skip();
    const sessions = await Promise.all(urls.flatMap((url) => Array.from({ length: 6 }, () => openSession(url))));
    const counts = { ok: 0, limited: 0, other: 0 };
    const started = Date.now();
    await Promise.all(
      sessions.map(async (call) => {
        while (Date.now() - started < HAMMER_MS) counts[await call()] += 1;
      }),
    );
    const elapsed = Date.now() - started;
    const limit = RULE.burst + elapsed / INTERVAL_MS;
    const tolerance = LEASE_LIFETIME_MS / INTERVAL_MS;
    console.info(`two replicas, ${elapsed} ms: admitted ${counts.ok}, refused ${counts.limited}; limit ${limit.toFixed(0)}, tolerance ${tolerance}`);
    expect(counts.other).toBe(0);
    expect(counts.limited).toBeGreaterThan(0);
    expect(counts.ok).toBeLessThanOrEqual(Math.ceil(limit + tolerance));
    expect(tolerance / limit).toBeLessThanOrEqual(0.1);
    // And the budget is really shared and used, not starved by leases held idle in one process.
    expect(counts.ok).toBeGreaterThanOrEqual(Math.floor(limit * 0.9));
  }, 60_000);
});
