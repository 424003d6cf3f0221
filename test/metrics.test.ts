import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { AUDIT_DEFAULTS } from "../src/config/audit-settings.ts";
import { StoreAuditor } from "../src/audit/store-auditor.ts";
import { issueToken } from "../src/auth/token-issuer.ts";
import { AuditMetrics } from "../src/observability/audit-metrics.ts";
import { MetricsRegistry } from "../src/observability/metrics.ts";
import { parsePermission } from "../src/policy/permission.ts";
import { capturingLogger } from "./helpers/auth-tokens.ts";
import { REPO_ROOT } from "./helpers/cli.ts";
import { BUN, type TestGateway, connectClient, startTestGateway } from "./helpers/gateway.ts";
import { sqliteAuditStore } from "./helpers/audit-stores.ts";

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
    gw = await startTestGateway(
      [LAB],
      { auth: "required" },
      {
        logger,
        prepare: async (store) => {
          await store.roles.create({ name: "echoer", rules: [{ effect: "allow", permission: parsePermission("lab/echo") }] });
          token = (
            await issueToken(
              store,
              { tokenIssuer: "mcpgw", tokenAudience: "mcpgw", signingAlg: "EdDSA" },
              { subject: "lena", roles: ["echoer"], ttlMs: 600_000 },
            )
          ).token;
        },
      },
    );
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

  test("build info, the process's CPU, memory, open descriptors and start time, and the jobs running here", async () => {
    const text = await scrape(gw);
    // The version the gateway was started with (the test helper's "test"; the binary's package.json version).
    expect(sample(text, `mcpgw_build_info{version="test",bun="${Bun.version}",platform="${process.platform}-${process.arch}"}`)).toBe(1);
    const cpu = sample(text, "process_cpu_seconds_total")!;
    expect(cpu).toBeGreaterThan(0);
    expect(text).toContain("# TYPE process_cpu_seconds_total counter");
    expect(sample(text, "process_resident_memory_bytes")).toBeGreaterThan(10_000_000);
    if (process.platform === "linux") expect(sample(text, "process_open_fds")).toBeGreaterThan(3);
    const started = sample(text, "process_start_time_seconds")!;
    // The test gateway runs in this process: it started when the process did, before now.
    expect(started).toBeLessThanOrEqual(Date.now() / 1_000);
    expect(started).toBeGreaterThan(Date.now() / 1_000 - process.uptime() - 5);
    expect(sample(text, "mcpgw_jobs_running")).toBe(0);
    // The store's queue, every status present, read when scraped.
    for (const status of ["queued", "working", "input_required", "completed", "failed", "cancelled"])
      expect(sample(text, `mcpgw_jobs{status="${status}"}`), status).toBeTypeOf("number");
    // CPU time is a counter: it only grows.
    for (let i = 0; i < 200_000; i++) JSON.stringify({ i });
    expect(sample(await scrape(gw), "process_cpu_seconds_total")!).toBeGreaterThanOrEqual(cpu);
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

/** Every sample of a metric family's series whose name starts with `prefix` (labels included), by series. */
function samples(text: string, prefix: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line.startsWith(prefix) || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    found.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return found;
}

async function scrape(gw: TestGateway): Promise<string> {
  const response = await fetch(new URL("/metrics", gw.base));
  expect(response.status).toBe(200);
  return response.text();
}

describe("/metrics: backend health and the audit log", () => {
  let gw: TestGateway;
  let client: Client;

  beforeAll(async () => {
    gw = await startTestGateway([LAB, { name: "down", url: "http://127.0.0.1:1/mcp", timeoutMs: 2_000 }]);
    // The aggregated session connects every backend: lab opens, down cannot.
    client = await connectClient(gw.mcpUrl(), {}, "metrics-health");
  }, 60_000);
  afterAll(async () => {
    await client?.close();
    await gw?.stop();
  });

  test("mcpgw_backend_up and connection failures follow what the gateway's connections see: connect failures, a crash, the reconnect", async () => {
    let text = await scrape(gw);
    expect(sample(text, 'mcpgw_backend_up{backend="lab"}')).toBe(1);
    expect(sample(text, 'mcpgw_backend_up{backend="down"}')).toBe(0);
    expect(sample(text, 'mcpgw_backend_connection_failures_total{backend="down",reason="connect"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'mcpgw_backend_connection_failures_total{backend="lab",reason="closed"}')).toBeUndefined();
    expect(text).toContain("# TYPE mcpgw_backend_up gauge");
    expect(text).toContain("# TYPE mcpgw_backend_connection_failures_total counter");

    // The lab process exits mid-call: its connection closed without the gateway closing it.
    await expect(client.callTool({ name: "lab__crash" })).rejects.toThrow(/unavailable/);
    text = await scrape(gw);
    expect(sample(text, 'mcpgw_backend_up{backend="lab"}')).toBe(0);
    expect(sample(text, 'mcpgw_backend_connection_failures_total{backend="lab",reason="closed"}')).toBe(1);

    // The next call reconnects (after the first backoff), and the backend is up again.
    let answered = false;
    for (let i = 0; i < 50 && !answered; i++) {
      answered = await client.callTool({ name: "lab__echo", arguments: { text: "back" } }).then(
        () => true,
        () => false,
      );
      if (!answered) await Bun.sleep(100);
    }
    expect(answered).toBe(true);
    text = await scrape(gw);
    expect(sample(text, 'mcpgw_backend_up{backend="lab"}')).toBe(1);
    expect(sample(text, 'mcpgw_backend_connection_failures_total{backend="lab",reason="closed"}')).toBe(1);
  });

  test("audit commits are timed and sized, the queue drains to 0, and the log reports available", async () => {
    // Earlier calls' outcomes may still be on their way: start from a quiet auditor.
    let before = await scrape(gw);
    for (let i = 0; i < 100; i++) {
      await Bun.sleep(50);
      const now = await scrape(gw);
      const quiet = sample(now, "mcpgw_audit_queue_depth") === 0 && sample(now, "mcpgw_audit_batch_size_sum") === sample(before, "mcpgw_audit_batch_size_sum");
      before = now;
      if (quiet) break;
    }
    const countBefore = sample(before, "mcpgw_audit_commit_duration_seconds_count") ?? 0;
    const itemsBefore = sample(before, "mcpgw_audit_batch_size_sum") ?? 0;
    await Promise.all(Array.from({ length: 40 }, (_, i) => client.callTool({ name: "lab__echo", arguments: { text: `m-${i}` } })));
    // 40 records, then 40 outcomes (committed after the answers): 80 items in a few transactions.
    let text = "";
    for (let i = 0; i < 100; i++) {
      text = await scrape(gw);
      if ((sample(text, "mcpgw_audit_batch_size_sum") ?? 0) - itemsBefore >= 80 && sample(text, "mcpgw_audit_queue_depth") === 0) break;
      await Bun.sleep(20);
    }
    expect((sample(text, "mcpgw_audit_batch_size_sum") ?? 0) - itemsBefore).toBe(80);
    const commits = (sample(text, "mcpgw_audit_commit_duration_seconds_count") ?? 0) - countBefore;
    // Group commit: fewer transactions than items, at least two (records before outcomes).
    expect(commits).toBeGreaterThanOrEqual(2);
    expect(commits).toBeLessThan(80);
    expect(sample(text, "mcpgw_audit_batch_size_count")).toBe(sample(text, "mcpgw_audit_commit_duration_seconds_count"));
    const seconds = sample(text, "mcpgw_audit_commit_duration_seconds_sum")!;
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThan(10);
    expect(sample(text, 'mcpgw_audit_commit_duration_seconds_bucket{le="+Inf"}')).toBe(sample(text, "mcpgw_audit_commit_duration_seconds_count"));
    // Cumulative buckets never decrease.
    const buckets = [...samples(text, "mcpgw_audit_commit_duration_seconds_bucket").values()];
    expect(buckets).toEqual([...buckets].sort((a, b) => a - b));
    expect(sample(text, "mcpgw_audit_queue_depth")).toBe(0);
    expect(sample(text, "mcpgw_audit_available")).toBe(1);
    expect(text).toContain("# TYPE mcpgw_audit_commit_duration_seconds histogram");
  });
});

describe("mcpgw_audit_queue_depth counts what waits for the next commit", () => {
  test("records begun in one turn of the event loop are queued until the group commit takes them", async () => {
    const fixture = await sqliteAuditStore();
    const metrics = new MetricsRegistry();
    const auditMetrics = new AuditMetrics(metrics);
    // Absent until an auditor is attached (MCPGW_AUDIT=off has none).
    expect(sample(metrics.render(), "mcpgw_audit_queue_depth")).toBeUndefined();
    const auditor = await StoreAuditor.start({
      repository: fixture.store.audit,
      logger: capturingLogger("silent").logger,
      settings: { ...AUDIT_DEFAULTS, instance: `metrics-${crypto.randomUUID().slice(0, 6)}` },
      onCommit: auditMetrics.onCommit,
    });
    auditMetrics.attach(auditor);
    try {
      const context = (i: number) => ({ requestId: `q-${i}`, subject: "alice", backend: "lab", target: "echo", method: "tools/call", arguments: { i } });
      const begun = Array.from({ length: 50 }, (_, i) => auditor.begin(context(i)));
      // The commit runs at the end of this turn: all 50 wait in the queue now.
      expect(sample(metrics.render(), "mcpgw_audit_queue_depth")).toBe(50);
      const entries = await Promise.all(begun);
      await auditor.idle();
      let text = metrics.render();
      expect(sample(text, "mcpgw_audit_queue_depth")).toBe(0);
      expect(sample(text, "mcpgw_audit_batch_size_sum")).toBe(50);
      expect(sample(text, "mcpgw_audit_commit_duration_seconds_count")).toBe(1);
      expect(sample(text, 'mcpgw_audit_batch_size_bucket{le="50"}')).toBe(1);
      expect(sample(text, 'mcpgw_audit_batch_size_bucket{le="25"}')).toBe(0);
      for (const entry of entries) entry.finish({ status: "ok" });
      expect(sample(metrics.render(), "mcpgw_audit_queue_depth")).toBe(50);
      await auditor.idle();
      text = metrics.render();
      expect(sample(text, "mcpgw_audit_queue_depth")).toBe(0);
      expect(sample(text, "mcpgw_audit_batch_size_sum")).toBe(100);
      expect(sample(text, "mcpgw_audit_commit_duration_seconds_count")).toBe(2);
    } finally {
      await auditor.close();
      await fixture.cleanup();
    }
  });
});
