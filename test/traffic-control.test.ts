import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { McpError } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { openStore } from "../src/store/open-store.ts";
import { REPO_ROOT } from "./helpers/cli.ts";
import { BUN, type TestGateway, backendSpec, connectClient, startTestGateway, refusalOf } from "./helpers/gateway.ts";
import { tempDir } from "./helpers/temp-dir.ts";

const LAB = [BUN, join(REPO_ROOT, "test/fixtures/lab-server.ts"), "--stdio"];
const MIB = 1024 * 1024;

function text(result: unknown): string {
  return ((result as { content?: { text?: string }[] }).content ?? []).map((c) => c.text ?? "").join("");
}

/** Adds a rule to the running gateway's database, as `mcpgw limit set` does, and waits out the 1 s pickup bound. */
async function addLimit(
  gw: TestGateway,
  rule: { scope: "subject" | "role" | "global"; scopeValue?: string; toolPattern?: string; count: number; periodMs: number; burst?: number },
) {
  const id = `lim_${crypto.randomUUID().slice(0, 8)}`;
  await gw.gateway.store.limits.add({ id, burst: rule.count, createdAt: Date.now(), ...rule });
  await Bun.sleep(1_100);
  return id;
}

describe("traffic control through the gateway", () => {
  let gw: TestGateway;
  let client: Client;

  beforeAll(async () => {
    gw = await startTestGateway(
      [{ name: "lab", command: LAB, env: { LAB_NAME: "lab" } }],
      {},
      {
        // Caps are part of the backend's spec, as `backend add capped --max-concurrency 2 --max-queue 2` stores them.
        prepare: (store) =>
          store.backends.add({ ...backendSpec({ name: "capped", command: LAB, env: { LAB_NAME: "capped" } }), limits: { maxConcurrency: 2, maxQueue: 2 } }),
      },
    );
    client = await connectClient(gw.mcpUrl("lab"));
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    await gw?.stop();
  });

  test("a limit of N per minute: N calls pass, then refusals whose retry delay is right within 10%", async () => {
    // With authentication off every caller is the subject "anonymous".
    const rule = await addLimit(gw, { scope: "subject", scopeValue: "anonymous", toolPattern: "lab/echo", count: 6, periodMs: 60_000 });
    const results = await Promise.allSettled(Array.from({ length: 9 }, (_, i) => client.callTool({ name: "echo", arguments: { text: `n${i}` } })));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(6);
    const refused = await refusalOf(client.callTool({ name: "echo", arguments: { text: "one more" } }));
    expect(refused.code).toBe(-32013);
    expect(refused.message).toContain(`rate limited: "anonymous" may make 6/min calls to lab/echo (rule ${rule})`);
    const retryAfterMs = (refused.data as { retryAfterMs: number }).retryAfterMs;
    expect(Math.abs(retryAfterMs - 10_000)).toBeLessThanOrEqual(1_000);
    // A per-tool limit leaves the other tools free.
    expect(text(await client.callTool({ name: "sleep", arguments: { ms: 1 } }))).toContain("slept");
    await gw.gateway.store.limits.remove(rule);
  });

  test("a refusal answered over HTTP carries Retry-After and RateLimit headers", async () => {
    const rule = await addLimit(gw, { scope: "global", toolPattern: "lab/sleep", count: 1, periodMs: 3_600_000 });
    const url = gw.mcpUrl("lab");
    const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };
    const init = await fetch(url, {
      method: "POST",
      headers,
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
      }),
    });
    const session = { ...headers, "mcp-session-id": init.headers.get("mcp-session-id")!, "mcp-protocol-version": "2025-11-25" };
    await init.body?.cancel();
    const call = () =>
      fetch(url, {
        method: "POST",
        headers: session,
        body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "sleep", arguments: { ms: 1 } } }),
      });
    expect((await call()).status).toBe(200);
    const refused = await call();
    expect(refused.headers.get("retry-after")).toBe("3600");
    expect(refused.headers.get("ratelimit-policy")).toBe("1;w=3600");
    expect(refused.headers.get("ratelimit")).toBe("limit=1, remaining=0, reset=3600");
    expect(((await refused.json()) as { error: { code: number } }).error.code).toBe(-32013);
    await gw.gateway.store.limits.remove(rule);
  });

  test("a concurrency cap: the backend never runs more than the cap, the queue waits, beyond it callers get busy", async () => {
    const capped = await connectClient(gw.mcpUrl("capped"));
    try {
      const calls = Array.from({ length: 7 }, () => capped.callTool({ name: "sleep", arguments: { ms: 400 } }));
      const results = await Promise.allSettled(calls);
      const busy = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(4);
      expect(busy).toHaveLength(3);
      for (const r of busy) {
        expect((r.reason as McpError).code).toBe(-32014);
        expect((r.reason as McpError).message).toContain('backend "capped" is busy: 2 calls in flight and 2 waiting');
      }
      const peak = await capped.callTool({ name: "sleep-peak" });
      expect((peak.structuredContent as { peak: number }).peak).toBe(2);
    } finally {
      await capped.close();
    }
  });

  test("a body that never ends is cut off with 413 once past the bound, without being read to the end", async () => {
    const port = Number(new URL(gw.base).port);
    let pushed = 0;
    let answer = "";
    const started = performance.now();
    const socket = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        data(_s, chunk) {
          answer += new TextDecoder().decode(chunk);
        },
      },
    });
    socket.write(
      `POST /mcp/lab HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n`,
    );
    const chunk = "x".repeat(64 * 1024);
    const framed = `${chunk.length.toString(16)}\r\n${chunk}\r\n`;
    // Keep sending (never the final 0-length chunk) until the gateway answers, or 8 MiB. Paced, a
    // turn of the event loop per chunk, so the answer is seen as it comes: what was pushed is then what
    // the gateway had been offered when it answered, not what the kernel's socket buffers could absorb
    // (up to 32 MiB with some machines' tcp_rmem, which let a tight loop push 5 MiB before looking).
    let rest = framed;
    while (!answer.includes("\r\n\r\n") && pushed < 8 * MIB) {
      const wrote = socket.write(rest);
      pushed += wrote;
      // A partial write leaves the rest of the chunk to send first, so the framing stays valid.
      rest = wrote < rest.length ? rest.slice(wrote) : framed;
      await Bun.sleep(wrote === 0 ? 5 : 1);
    }
    for (let i = 0; i < 100 && !answer.includes("\r\n\r\n"); i++) await Bun.sleep(20);
    socket.end();
    expect(answer).toMatch(/^HTTP\/1\.1 413/);
    expect(performance.now() - started).toBeLessThan(5_000);
    // The gateway stopped reading near the 1 MiB bound: what the socket took is the bound plus buffers, not 8 MiB.
    expect(pushed).toBeLessThan(4 * MIB);
  });
});

describe("a daily quota across a gateway restart", () => {
  test("calls counted before the restart still count after it", async () => {
    const dir = tempDir();
    const databaseUrl = `sqlite:${join(dir.path, "quota.db")}`;
    let gw = await startTestGateway([{ name: "lab", command: LAB }], {}, { databaseUrl });
    await gw.gateway.store.limits.add({ id: "daily", scope: "global", count: 3, periodMs: 86_400_000, burst: 3, createdAt: Date.now() });
    await Bun.sleep(1_100);
    let client = await connectClient(gw.mcpUrl("lab"));
    for (let i = 0; i < 2; i++) await client.callTool({ name: "echo", arguments: { text: "before" } });
    await client.close();
    await gw.gateway.shutdown();

    // The same database file, a new gateway process state.
    const store = openStore(databaseUrl);
    expect((await store.limits.list()).map((r) => r.id)).toEqual(["daily"]);
    await store.close();
    gw = await startTestGateway([], {}, { databaseUrl });
    client = await connectClient(gw.mcpUrl("lab"));
    try {
      await client.callTool({ name: "echo", arguments: { text: "third" } });
      const refused = await refusalOf(client.callTool({ name: "echo", arguments: { text: "fourth" } }));
      expect(refused.code).toBe(-32013);
      // 3/day is one call per 8 h: the next fits 8 h after the quota began, less the seconds this test took.
      const retryAfterMs = (refused.data as { retryAfterMs: number }).retryAfterMs;
      expect(retryAfterMs).toBeLessThanOrEqual(8 * 3_600_000);
      expect(retryAfterMs).toBeGreaterThan(8 * 3_600_000 - 60_000);
    } finally {
      await client.close();
      await gw.stop();
      dir.remove();
    }
  }, 60_000);
});

describe("sessions per subject", () => {
  test("at its session cap a subject's least recently used idle session makes room (audited); when all are busy the new one is refused (429); others are unaffected", async () => {
    const { issueToken } = await import("../src/auth/token-issuer.ts");
    const { CapturingAuditor } = await import("./helpers/auth-tokens.ts");
    const auditor = new CapturingAuditor();
    const tokens: Record<string, string> = {};
    const gw = await startTestGateway(
      [{ name: "lab", command: LAB }],
      { auth: "required", maxSessionsPerSubject: "2" },
      {
        auditor,
        prepare: async (store) => {
          const { parsePermission } = await import("../src/policy/permission.ts");
          await store.roles.create({ name: "lab-user", rules: [{ effect: "allow", permission: parsePermission("lab/*") }] });
          for (const subject of ["hana", "ivan"])
            tokens[subject] = (
              await issueToken(store, { tokenIssuer: "mcpgw", tokenAudience: "mcpgw", signingAlg: "EdDSA" }, { subject, roles: ["lab-user"], ttlMs: 600_000 })
            ).token;
        },
      },
    );
    const clients: Client[] = [];
    try {
      const one = await connectClient(gw.mcpUrl("lab"), {}, "one", { token: tokens.hana });
      clients.push(one);
      await Bun.sleep(5);
      const two = await connectClient(gw.mcpUrl("lab"), {}, "two", { token: tokens.hana });
      clients.push(two);
      // At the cap, "one" (used least recently, nothing in flight) is ended for "three".
      clients.push(await connectClient(gw.mcpUrl("lab"), {}, "three", { token: tokens.hana }));
      // An event, not a refusal: the new session was let in.
      expect(auditor.refusals).toEqual([]);
      expect(auditor.events.map((r) => [r.context.subject, r.outcome.status, r.outcome.decision, r.outcome.rule])).toEqual([
        ["hana", "cancelled", "evicted", "max sessions per subject"],
      ]);
      expect(auditor.events[0]!.outcome.errorMessage).toContain("least recently used idle session");
      await expect(one.callTool({ name: "echo", arguments: { text: "gone?" } })).rejects.toThrow(/404|Session not found/);
      // With both of its sessions busy (a call in flight each), hana's next session is refused.
      const busy = clients.slice(1).map((c) => c.callTool({ name: "sleep", arguments: { ms: 1_500 } }));
      await Bun.sleep(300);
      const fourth = await connectClient(gw.mcpUrl("lab"), {}, "four", { token: tokens.hana }).then(
        () => ({ code: 0, message: "opened" }),
        (err: Error & { code: number }) => ({ code: err.code, message: err.message }),
      );
      expect(fourth.code).toBe(429);
      expect(fourth.message).toContain('"code":-32013');
      expect(fourth.message).toContain("already has 2 open sessions, each with a call in flight, the most allowed (MCPGW_MAX_SESSIONS_PER_SUBJECT)");
      expect(auditor.refusals.at(-1)).toMatchObject({ context: { subject: "hana" }, outcome: { status: "rate_limited", rule: "max sessions per subject" } });
      // Another subject is not affected.
      clients.push(await connectClient(gw.mcpUrl("lab"), {}, "other", { token: tokens.ivan }));
      await Promise.all(busy);
      void two;
    } finally {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await gw.stop();
    }
  }, 30_000);
});

describe("rate limits per subject, with real tokens", () => {
  test("a subject limited to N calls per minute gets N then refusals with the right delay; another subject is unaffected", async () => {
    const { issueToken } = await import("../src/auth/token-issuer.ts");
    const { parsePermission } = await import("../src/policy/permission.ts");
    const tokens: Record<string, string> = {};
    const gw = await startTestGateway(
      [{ name: "lab", command: LAB }],
      { auth: "required" },
      {
        prepare: async (store) => {
          await store.roles.create({ name: "lab-user", rules: [{ effect: "allow", permission: parsePermission("lab/*") }] });
          await store.limits.add({ id: "jin-4-per-min", scope: "subject", scopeValue: "jin", count: 4, periodMs: 60_000, burst: 4, createdAt: Date.now() });
          for (const subject of ["jin", "kim"]) {
            tokens[subject] = (
              await issueToken(store, { tokenIssuer: "mcpgw", tokenAudience: "mcpgw", signingAlg: "EdDSA" }, { subject, roles: ["lab-user"], ttlMs: 600_000 })
            ).token;
          }
        },
      },
    );
    const jin = await connectClient(gw.mcpUrl("lab"), {}, "jin", { token: tokens.jin });
    const kim = await connectClient(gw.mcpUrl("lab"), {}, "kim", { token: tokens.kim });
    try {
      const burst = await Promise.allSettled(Array.from({ length: 7 }, (_, i) => jin.callTool({ name: "echo", arguments: { text: `j${i}` } })));
      expect(burst.filter((r) => r.status === "fulfilled")).toHaveLength(4);
      const refused = await refusalOf(jin.callTool({ name: "echo", arguments: { text: "more" } }));
      expect(refused.message).toContain('rate limited: "jin" may make 4/min calls (rule jin-4-per-min)');
      // One call every 15 s after the burst: the delay is right within 10 %.
      expect(Math.abs((refused.data as { retryAfterMs: number }).retryAfterMs - 15_000)).toBeLessThanOrEqual(1_500);
      const others = await Promise.all(Array.from({ length: 7 }, (_, i) => kim.callTool({ name: "echo", arguments: { text: `k${i}` } })));
      expect(others.map((r) => text(r))).toEqual(Array.from({ length: 7 }, (_, i) => `lab: k${i}`));
    } finally {
      await Promise.all([jin.close(), kim.close()]);
      await gw.stop();
    }
  }, 30_000);
});
