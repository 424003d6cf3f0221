import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { issueToken } from "../src/auth/token-issuer.ts";
import { parsePermission } from "../src/policy/permission.ts";
import type { Store } from "../src/store/store.ts";
import { REPO_ROOT } from "./helpers/cli.ts";
import { BUN, type TestGateway, connectClient, refusalOf, startTestGateway } from "./helpers/gateway.ts";
import { type IsolatedSchema, isolatedSchema, postgresAvailable } from "./helpers/postgres.ts";

// biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field
type Json = any;

/**
 * The admin API's live views (issue 20) on a real gateway: the SSE stream of calls made by another
 * client (a real SDK client), its filters and what a disconnect releases; the per-minute stats;
 * the policy checker against real calls; and the limits' usage, on SQLite and PostgreSQL.
 */

const WORK = { name: "work", command: [BUN, join(REPO_ROOT, "test/fixtures/work-server.ts"), "--stdio"] };
const AUTH = { tokenIssuer: "mcpgw", tokenAudience: "mcpgw", signingAlg: "EdDSA" as const };
const WORKER_RULE = 'allow work/work[key^="public-"] (role worker)';

const postgres = await postgresAvailable();

interface Tokens {
  root: string;
  reader: string;
  dev: string;
  alice: string;
}

/** Roles and tokens of every suite here: an admin, a reader, a caller with every tool but no admin permission, and alice. */
async function prepareAccess(store: Store, tokens: Tokens): Promise<void> {
  const rule = (effect: "allow" | "deny", text: string) => ({ effect, permission: parsePermission(text) });
  await store.roles.create({ name: "ops", rules: [rule("allow", "admin:*")] });
  await store.roles.create({ name: "auditor", rules: [rule("allow", "admin:read")] });
  await store.roles.create({ name: "everything", rules: [rule("allow", "*")] });
  await store.roles.create({ name: "worker", rules: [rule("allow", 'work/work[key^="public-"]'), rule("allow", "work/fail")] });
  // Granted in the database, not carried by a token: the checker must count it.
  await store.roles.create({ name: "failer", rules: [rule("allow", "work/fail")] });
  await store.roles.grant("failer", "bob");
  const issue = async (subject: string, roles: string[]) => (await issueToken(store, AUTH, { subject, roles, ttlMs: 3_600_000 })).token;
  tokens.root = await issue("root", ["ops"]);
  tokens.reader = await issue("reader", ["auditor"]);
  tokens.dev = await issue("dev", ["everything"]);
  tokens.alice = await issue("alice", ["worker"]);
}

/** An open event stream, read as its events arrive. */
class EventStream {
  private buffer = "";
  private readonly events: { event: string; data: Json }[] = [];
  private readonly comments: string[] = [];
  private reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  private readonly decoder = new TextDecoder();

  constructor(
    readonly response: Response,
    private readonly abort: AbortController,
  ) {}

  /** The next `event: call` (other events are kept), or a failure after `ms`. */
  async next(ms = 1_000): Promise<{ event: string; data: Json }> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.events.shift();
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no event within ${ms} ms`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      this.reader ??= this.response.body!.getReader() as ReadableStreamDefaultReader<Uint8Array>;
      const read = await Promise.race([
        this.reader.read(),
        new Promise<"timeout">((resolve) => {
          timer = setTimeout(() => resolve("timeout"), left);
        }),
      ]);
      clearTimeout(timer);
      if (read === "timeout") throw new Error(`no event within ${ms} ms`);
      if (read.done) throw new Error("the stream ended");
      this.buffer += this.decoder.decode(read.value, { stream: true });
      this.parse();
    }
  }

  /** Comment lines seen so far (`: connected`, `: keepalive`). */
  seenComments(): string[] {
    return this.comments;
  }

  close(): void {
    this.abort.abort();
  }

  private parse(): void {
    for (let end = this.buffer.indexOf("\n\n"); end >= 0; end = this.buffer.indexOf("\n\n")) {
      const frame = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      if (frame.startsWith(":")) {
        this.comments.push(frame);
        continue;
      }
      const event = /^event: (.*)$/m.exec(frame)?.[1] ?? "message";
      const data = /^data: (.*)$/m.exec(frame)?.[1];
      this.events.push({ event, data: data === undefined ? undefined : JSON.parse(data) });
    }
  }
}

describe("the admin API's live views", () => {
  let gw: TestGateway;
  const tokens: Tokens = { root: "", reader: "", dev: "", alice: "" };
  let alice: Client;
  const streams: EventStream[] = [];

  beforeAll(async () => {
    gw = await startTestGateway([WORK], { auth: "required" }, { prepare: (store) => prepareAccess(store, tokens) });
    alice = await connectClient(gw.mcpUrl("work"), {}, "alice-agent", { token: tokens.alice });
  }, 60_000);
  afterAll(async () => {
    for (const stream of streams) stream.close();
    await alice?.close();
    await gw?.stop();
  });

  async function api(method: string, path: string, options: { token?: string; body?: unknown } = {}): Promise<{ status: number; body: Json }> {
    const response = await fetch(`${gw.base}${path}`, {
      method,
      headers: { "content-type": "application/json", ...(options.token !== undefined && { authorization: `Bearer ${options.token}` }) },
      ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
    });
    return { status: response.status, body: await response.json() };
  }

  async function openStream(query = "", token = tokens.reader): Promise<EventStream> {
    const abort = new AbortController();
    const response = await fetch(`${gw.base}/v1/admin/calls/stream${query}`, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal });
    const stream = new EventStream(response, abort);
    if (response.ok) streams.push(stream);
    return stream;
  }

  const work = (key: string) => alice.callTool({ name: "work", arguments: { key } });

  describe("the live stream of calls", () => {
    test("a call made by another client arrives within a second, with who, what, how it ended and the rule", async () => {
      const stream = await openStream();
      expect(stream.response.status).toBe(200);
      expect(stream.response.headers.get("content-type")).toBe("text/event-stream");
      expect(stream.response.headers.get("cache-control")).toContain("no-store");

      await work("public-1");
      const ended = Date.now();
      const { event, data } = await stream.next(1_000);
      expect(Date.now() - ended).toBeLessThan(1_000);
      expect(event).toBe("call");
      expect(data).toEqual({
        ts: expect.any(String),
        subject: "alice",
        roles: ["worker"],
        client: "alice-agent",
        backend: "work",
        method: "tools/call",
        target: "work",
        status: "ok",
        latencyMs: expect.any(Number),
        errorCode: null,
        errorMessage: null,
        rule: WORKER_RULE,
      });
      expect(Math.abs(Date.parse(data.ts) - ended)).toBeLessThan(2_000);
      expect(stream.seenComments()).toContain(": connected");

      // A refusal: no latency, the error and the rule that decided.
      await refusalOf(work("secret"));
      expect((await stream.next()).data).toMatchObject({
        subject: "alice",
        status: "denied",
        latencyMs: null,
        errorCode: expect.any(Number),
        errorMessage: expect.stringContaining("denied by policy"),
        rule: `${WORKER_RULE}: its argument conditions do not hold`,
      });

      // A call without a token: refused before anyone is known.
      const anonymous = await fetch(gw.mcpUrl().href, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
      expect(anonymous.status).toBe(401);
      expect((await stream.next()).data).toMatchObject({ subject: null, status: "unauthenticated", latencyMs: null });
    });

    test("a stream ends once its token is revoked, or its roles no longer grant admin:read: no call is sent after", async () => {
      const issued = async (subject: string, roles: string[]) => issueToken(gw.gateway.store, AUTH, { subject, roles, ttlMs: 3_600_000 });
      const revoked = await issued("watcher-1", ["auditor"]);
      await gw.gateway.store.roles.create({ name: "watchers", rules: [{ effect: "allow", permission: parsePermission("admin:read") }] });
      const demoted = await issued("watcher-2", ["watchers"]);
      const first = await openStream("", revoked.token);
      // The new role reaches the running gateway within a second.
      let second = await openStream("", demoted.token);
      for (let tries = 0; second.response.status === 403 && tries < 20; tries++) {
        await Bun.sleep(100);
        second = await openStream("", demoted.token);
      }
      expect(second.response.status).toBe(200);
      await work("public-before");
      expect((await first.next()).data.target).toBe("work");
      expect((await second.next()).data.target).toBe("work");

      expect((await api("DELETE", `/v1/admin/tokens/${revoked.record.jti}`, { token: tokens.root })).status).toBe(200);
      await gw.gateway.store.roles.update("watchers", { removeRules: ["admin:read"], addRules: [{ effect: "allow", permission: parsePermission("work/*") }] });
      // Running gateways apply both within a second; the next call is not sent to either stream, which ends.
      await Bun.sleep(1_200);
      await work("public-after");
      await expect(first.next(1_000)).rejects.toThrow("the stream ended");
      await expect(second.next(1_000)).rejects.toThrow("the stream ended");
    });

    test("filters by subject, backend and status match exactly", async () => {
      const denied = await openStream("?subject=alice&status=denied");
      const okOnWork = await openStream("?backend=work&status=ok");
      const nobody = await openStream("?subject=al");
      // Sent so that each stream's first event, if its filter let a wrong one through, would be the wrong one.
      await work("public-2");
      await refusalOf(work("secret-2"));
      await work("public-3");
      expect((await denied.next()).data).toMatchObject({ subject: "alice", status: "denied", rule: expect.stringContaining("do not hold") });
      expect((await okOnWork.next()).data).toMatchObject({ backend: "work", status: "ok" });
      expect((await okOnWork.next()).data).toMatchObject({ backend: "work", status: "ok" });
      await expect(nobody.next(300)).rejects.toThrow("no event within 300 ms");

      const wrong = await api("GET", "/v1/admin/calls/stream?status=fine", { token: tokens.reader });
      expect(wrong.status).toBe(400);
      expect(wrong.body.field).toBe("status");
      const unknown = await api("GET", "/v1/admin/calls/stream?tool=work", { token: tokens.reader });
      expect(unknown).toMatchObject({ status: 400, body: { field: "tool" } });
      for (const stream of [denied, okOnWork, nobody]) stream.close();
    });

    test("a client that disconnects releases its stream: 32 may be open at once, the 33rd gets 429 until one goes", async () => {
      for (const stream of streams.splice(0)) stream.close();
      // Closed streams are released when the gateway sees the disconnect: wait until all 32 can open.
      const open: EventStream[] = [];
      const deadline = Date.now() + 5_000;
      while (open.length < 32) {
        const stream = await openStream();
        if (stream.response.status === 200) open.push(stream);
        else if (Date.now() > deadline) throw new Error(`only ${open.length} streams could open: disconnected ones were not released`);
        else await Bun.sleep(50);
      }
      const refused = await openStream();
      expect(refused.response.status).toBe(429);
      expect(refused.response.headers.get("retry-after")).toBe("5");
      expect(await refused.response.json()).toMatchObject({ error: expect.stringContaining("32 call streams are open"), hint: expect.any(String) });

      open.pop()!.close();
      let reopened: EventStream | undefined;
      for (let i = 0; i < 50 && !reopened; i++) {
        const stream = await openStream();
        if (stream.response.status === 200) reopened = stream;
        else await Bun.sleep(20);
      }
      expect(reopened?.response.status).toBe(200);
      // And the streams still open still get calls.
      await work("public-4");
      expect((await open[0]!.next()).data).toMatchObject({ subject: "alice", status: "ok" });
      for (const stream of streams.splice(0)) stream.close();
    });

    test("authentication and the admin permission are required, as on every admin route", async () => {
      expect((await fetch(`${gw.base}/v1/admin/calls/stream`)).status).toBe(401);
      const refused = await fetch(`${gw.base}/v1/admin/calls/stream`, { headers: { authorization: `Bearer ${tokens.dev}` } });
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as Json).error).toContain("admin:read");
    });
  });

  describe("stats", () => {
    const sum = (body: Json, field: "calls" | "refusals") => body.minutes.reduce((total: number, minute: Json) => total + minute[field], 0);

    test("count the calls and refusals of every minute, and each backend's calls, errors and latency", async () => {
      const before = await api("GET", "/v1/admin/stats?minutes=5", { token: tokens.reader });
      expect(before.status).toBe(200);
      expect(before.body.minutes).toHaveLength(5);
      const beforeWork = before.body.backends.find((b: Json) => b.backend === "work") ?? { calls: 0, errors: 0 };

      await work("public-5");
      await work("public-6");
      await alice.callTool({ name: "fail", arguments: {} });
      await refusalOf(work("secret-3"));
      await refusalOf(alice.callTool({ name: "big", arguments: { bytes: 1 } }));
      await fetch(gw.mcpUrl().href, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });

      const after = await api("GET", "/v1/admin/stats?minutes=5", { token: tokens.reader });
      expect(sum(after.body, "calls") - sum(before.body, "calls")).toBe(3);
      expect(sum(after.body, "refusals") - sum(before.body, "refusals")).toBe(3);
      const afterWork = after.body.backends.find((b: Json) => b.backend === "work");
      expect(afterWork.calls - beforeWork.calls).toBe(3);
      expect(afterWork.errors - beforeWork.errors).toBe(1);
      expect(afterWork.p50Ms).toBeGreaterThan(0);
      expect(afterWork.p99Ms).toBeGreaterThanOrEqual(afterWork.p50Ms);
      // Oldest first, a minute apart, the last one under way now.
      const starts = after.body.minutes.map((minute: Json) => Date.parse(minute.t));
      expect(starts.slice(1).map((t: number, i: number) => t - starts[i])).toEqual([60_000, 60_000, 60_000, 60_000]);
      expect(Date.now() - starts.at(-1)).toBeLessThan(60_000 + 2_000);
      expect(Date.parse(after.body.since)).toBeLessThanOrEqual(Date.now());
    });

    test("minutes is 1 to 180 (default 60)", async () => {
      expect((await api("GET", "/v1/admin/stats", { token: tokens.reader })).body.minutes).toHaveLength(60);
      expect((await api("GET", "/v1/admin/stats?minutes=180", { token: tokens.reader })).body.minutes).toHaveLength(180);
      for (const minutes of ["0", "181", "ten"]) {
        const answer = await api("GET", `/v1/admin/stats?minutes=${minutes}`, { token: tokens.reader });
        expect(answer.status, minutes).toBe(400);
        expect(answer.body.field).toBe("minutes");
      }
    });
  });

  describe("the policy checker", () => {
    const check = (body: unknown, token = tokens.reader) => api("POST", "/v1/admin/policy/check", { token, body });

    /** The rule the audit recorded for alice's newest call of `work` that ended with `status`. */
    async function auditedRule(status: string): Promise<string> {
      const page = await api("GET", `/v1/admin/audit?subject=alice&status=${status}&limit=1`, { token: tokens.reader });
      return page.body.records[0].rule;
    }

    test("agrees with a real call, allowed and denied by an argument condition, and names the rule that decides", async () => {
      const allowed = await check({ subject: "alice", roles: ["worker"], target: "work/work", arguments: { key: "public-7" } });
      expect(allowed).toEqual({
        status: 200,
        body: { allowed: true, rule: WORKER_RULE, roles: ["worker"], target: { kind: "tool", backend: "work", name: "work" } },
      });
      await work("public-7");
      expect(await auditedRule("ok")).toBe(allowed.body.rule);

      const denied = await check({ subject: "alice", roles: ["worker"], target: "work/work", arguments: { key: "/etc/passwd" } });
      expect(denied.body).toMatchObject({ allowed: false, rule: `${WORKER_RULE}: its argument conditions do not hold` });
      const refusal = await refusalOf(work("/etc/passwd"));
      expect(refusal.message).toContain(denied.body.rule);
      expect(await auditedRule("denied")).toBe(denied.body.rule);

      // Without the token's role, nothing allows it.
      expect((await check({ subject: "alice", target: "work/work", arguments: { key: "public-7" } })).body).toMatchObject({
        allowed: false,
        rule: expect.stringContaining("default deny"),
        roles: [],
      });
    });

    test("counts the roles granted in the database beside the given ones, and answers for resources, prompts and admin permissions", async () => {
      expect((await check({ subject: "bob", target: "work/fail" })).body).toMatchObject({
        allowed: true,
        rule: "allow work/fail (role failer)",
        roles: ["failer"],
      });
      expect((await check({ subject: "bob", roles: ["worker"], target: "work/fail" })).body.roles).toEqual(["worker", "failer"]);
      expect((await check({ subject: "dev", roles: ["everything"], target: "resource:work/file:///srv/a.txt" })).body).toMatchObject({
        allowed: false,
        target: { kind: "resource", backend: "work", name: "file:///srv/a.txt" },
      });
      expect((await check({ subject: "dev", roles: ["everything"], target: "prompt:work/intro" })).body.target.kind).toBe("prompt");
      expect((await check({ subject: "root", roles: ["ops"], target: "admin:write" })).body).toMatchObject({ allowed: true, rule: "allow admin:* (role ops)" });
      expect((await check({ subject: "reader", roles: ["auditor"], target: "admin:write" })).body.allowed).toBe(false);
    });

    test("a target that names nothing is a 400 naming the field; the subject is required", async () => {
      for (const target of ["work", "work/", "/echo", "admin:everything"]) {
        const answer = await check({ subject: "alice", target });
        expect(answer.status, target).toBe(400);
        expect(answer.body).toMatchObject({ field: "target", hint: expect.stringContaining("BACKEND/TOOL") });
      }
      expect((await check({ target: "work/work" })).body.field).toBe("subject");
      expect((await check({ subject: "alice", target: "work/work", arguments: "key=x" })).body.field).toBe("arguments");
    });

    test("it changes nothing, so admin:read suffices and nothing is audited", async () => {
      const before = await api("GET", "/v1/admin/audit?subject=reader&limit=200", { token: tokens.reader });
      expect((await check({ subject: "alice", target: "work/work" })).status).toBe(200);
      const after = await api("GET", "/v1/admin/audit?subject=reader&limit=200", { token: tokens.reader });
      expect(after.body.records.length).toBe(before.body.records.length);
      expect((await check({ subject: "alice", target: "work/work" }, tokens.dev)).status).toBe(403);
    });
  });
});

describe("stopping the gateway", () => {
  test("ends the open streams of calls at once: they do not hold the drain open", async () => {
    const tokens: Tokens = { root: "", reader: "", dev: "", alice: "" };
    const gw = await startTestGateway([], { auth: "required" }, { prepare: (store) => prepareAccess(store, tokens) });
    const response = await fetch(`${gw.base}/v1/admin/calls/stream`, { headers: { authorization: `Bearer ${tokens.reader}` } });
    const reader = response.body!.getReader();
    await reader.read();
    const started = Date.now();
    await gw.stop();
    // The drain bound is 10 s (MCPGW_SHUTDOWN_TIMEOUT): a stream still open would have held the stop that long.
    expect(Date.now() - started).toBeLessThan(5_000);
    let ended = false;
    for (let i = 0; i < 10 && !ended; i++) ended = (await reader.read().catch(() => ({ done: true }))).done;
    expect(ended).toBe(true);
  });
});

for (const dialect of ["sqlite", "postgres"] as const) {
  describe.skipIf(dialect === "postgres" && !postgres)(`limit usage on ${dialect}`, () => {
    let schema: IsolatedSchema | undefined;
    let gw: TestGateway;
    const tokens: Tokens = { root: "", reader: "", dev: "", alice: "" };
    let alice: Client;

    beforeAll(async () => {
      schema = dialect === "postgres" ? await isolatedSchema("admin_live") : undefined;
      gw = await startTestGateway(
        [WORK],
        { auth: "required" },
        { ...(schema && { databaseUrl: schema.url }), prepare: (store) => prepareAccess(store, tokens) },
      );
      alice = await connectClient(gw.mcpUrl("work"), {}, "alice-agent", { token: tokens.alice });
    }, 60_000);
    afterAll(async () => {
      await alice?.close();
      await gw?.stop();
      await schema?.drop();
    });

    async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> {
      const response = await fetch(`${gw.base}${path}`, {
        method,
        headers: { "content-type": "application/json", authorization: `Bearer ${tokens.root}` },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
      return { status: response.status, body: await response.json() };
    }
    const usage = async () => (await api("GET", "/v1/admin/limits/usage")).body.usage as Json[];
    const work = (key: string) => alice.callTool({ name: "work", arguments: { key } });

    test("every rule with what its buckets hold; calls spend from them and the usage shows it", async () => {
      // Bursts of at most 20 lease one call at a time, and per-hour rates refill slowly: the counts are exact.
      const sub = (await api("POST", "/v1/admin/limits", { sub: "alice", tool: "work/*", rate: "10/h" })).body.limit.id;
      const role = (await api("POST", "/v1/admin/limits", { role: "worker", rate: "100/h", burst: "20" })).body.limit.id;
      const everyone = (await api("POST", "/v1/admin/limits", { global: true, rate: "60/h", burst: "20" })).body.limit.id;
      const row = (rows: Json[], id: string, key?: string) => rows.find((r) => r.id === id && (key === undefined || r.key === key));

      const fresh = await usage();
      expect(row(fresh, sub)).toEqual({
        id: sub,
        scope: "subject",
        subject: "alice",
        tool: "work/*",
        rate: "10/h",
        burst: 10,
        key: "alice",
        used: 0,
        remaining: 10,
        resetsAt: null,
      });
      expect(row(fresh, role)).toMatchObject({ scope: "role", role: "worker", tool: null, key: "*", used: null, remaining: null, resetsAt: null });
      expect(row(fresh, everyone)).toMatchObject({ scope: "global", key: "*", used: 0, remaining: 20 });

      // The gateway applies new rules within a second or so: call until a call counts.
      let spent: Json[] = fresh;
      for (const deadline = Date.now() + 10_000; row(spent, sub).used === 0 && Date.now() < deadline; ) {
        await work("public-wait");
        spent = await usage();
        if (row(spent, sub).used === 0) await Bun.sleep(100);
      }
      expect(row(spent, sub).used).toBeGreaterThan(0);
      const base = { sub: row(spent, sub).used, role: row(spent, role, "alice").used, everyone: row(spent, everyone).used };

      await work("public-a");
      await work("public-b");
      const now = await usage();
      expect(row(now, sub)).toMatchObject({ used: base.sub + 2, remaining: 10 - base.sub - 2 });
      expect(row(now, role, "alice")).toMatchObject({ key: "alice", used: base.role + 2, remaining: 20 - base.role - 2 });
      expect(row(now, everyone)).toMatchObject({ key: "*", used: base.everyone + 2 });
      // Full again once every spent call has refilled: 6 minutes a call at 10/h.
      const resets = Date.parse(row(now, sub).resetsAt) - Date.now();
      expect(resets).toBeGreaterThan((base.sub + 1) * 360_000);
      expect(resets).toBeLessThanOrEqual((base.sub + 2) * 360_000);
    });

    test("authentication and admin:read are required", async () => {
      expect((await fetch(`${gw.base}/v1/admin/limits/usage`)).status).toBe(401);
      const refused = await fetch(`${gw.base}/v1/admin/limits/usage`, { headers: { authorization: `Bearer ${tokens.dev}` } });
      expect(refused.status).toBe(403);
      expect((await fetch(`${gw.base}/v1/admin/limits/usage`, { headers: { authorization: `Bearer ${tokens.reader}` } })).status).toBe(200);
    });
  });
}
