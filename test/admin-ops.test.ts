import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import Ajv2020 from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { issueToken } from "../src/auth/token-issuer.ts";
import { parsePermission } from "../src/policy/permission.ts";
import { buildOpenApiDocument } from "../src/server/openapi.ts";
import { REPO_ROOT, runCli } from "./helpers/cli.ts";
import { BUN, type TestGateway, connectClient, startTestGateway } from "./helpers/gateway.ts";
import { type IsolatedSchema, isolatedSchema, postgresAvailable } from "./helpers/postgres.ts";
import { tempDir } from "./helpers/temp-dir.ts";
import { publishStaleGateway } from "./helpers/stale-gateway.ts";

// biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field
type Json = any;

/**
 * The admin API's operational routes (issue 20: sessions, backend connections and processes, jobs)
 * on a real gateway, SQLite and PostgreSQL: sessions of real SDK clients as every gateway publishes
 * them (the same shaping as `mcpgw sessions list --json`), the live status of a stdio backend (its
 * tools, pins, real processes) and of one whose command fails, and everyone's jobs listed, shown and
 * cancelled through the owner's code path, the cancel audited with the status before and after.
 */

const AUTH = { tokenIssuer: "mcpgw", tokenAudience: "mcpgw", signingAlg: "EdDSA" as const };
const INTERVAL_MS = 200;
const logs = tempDir("mcpgw-admin-ops-");
const WORK_LOG = join(logs.path, "work.log");
const WORK = { name: "work", command: [BUN, join(REPO_ROOT, "test/fixtures/work-server.ts"), "--stdio"], env: { WORK_LOG } };
/** A backend that speaks only 2026-07-28 (no initialize, no sessions). */
const MODERN = { name: "modern", command: [BUN, join(REPO_ROOT, "test/fixtures/modern-server.ts"), "--stdio"], env: { MODERN_NAME: "modern" } };
/** A stdio backend whose process says what is wrong on stderr and exits before answering initialize. */
const BROKEN = { name: "broken", command: [BUN, "-e", "console.error('broken: BROKEN_CONFIG is not set'); process.exit(3)"] };

const postgres = await postgresAvailable();
const document: Json = buildOpenApiDocument("test");
const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addSchema(document, "openapi.json");

/** Whether an answer matches what /openapi.json says the route answers with that status. */
function expectDocumented(method: string, path: string, answer: { status: number; body: Json }): void {
  const pointer = ["paths", path, method, "responses", String(answer.status), "content", "application/json", "schema"]
    .map((part) => part.replaceAll("~", "~0").replaceAll("/", "~1"))
    .join("/");
  const validate = ajv.getSchema(`openapi.json#/${pointer}`);
  expect(validate, `${method} ${path} ${answer.status} is documented`).toBeDefined();
  expect(validate!(answer.body), `${method} ${path} ${answer.status}: ${ajv.errorsText(validate!.errors)}`).toBe(true);
}

function workLog(): string[] {
  try {
    return readFileSync(WORK_LOG, "utf8").split("\n");
  } catch {
    return [];
  }
}

async function until<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms}ms (last: ${JSON.stringify(value)})`);
    await Bun.sleep(50);
  }
}

for (const dialect of ["sqlite", "postgres"] as const) {
  describe.skipIf(dialect === "postgres" && !postgres)(`sessions, backend status and jobs in the admin API, on ${dialect}`, () => {
    let schema: IsolatedSchema | undefined;
    let gw: TestGateway;
    const tokens = { root: "", reader: "", alice: "", bob: "" };
    const clients: Client[] = [];

    beforeAll(async () => {
      schema = dialect === "postgres" ? await isolatedSchema("adminops") : undefined;
      gw = await startTestGateway(
        [WORK, BROKEN, MODERN],
        // One job worker: a job submitted while another runs stays queued.
        { auth: "required", sessionSnapshotInterval: `${INTERVAL_MS}ms`, jobWorkers: "1" },
        {
          ...(schema && { databaseUrl: schema.url }),
          prepare: async (store) => {
            const rule = (text: string) => ({ effect: "allow" as const, permission: parsePermission(text) });
            await store.roles.create({ name: "ops", rules: [rule("admin:*")] });
            await store.roles.create({ name: "auditor", rules: [rule("admin:read")] });
            await store.roles.create({ name: "worker", rules: [rule("work/*"), rule("broken/*"), rule("modern/*")] });
            const issue = async (subject: string, roles: string[]) => (await issueToken(store, AUTH, { subject, roles, ttlMs: 3_600_000 })).token;
            tokens.root = await issue("root", ["ops"]);
            tokens.reader = await issue("reader", ["auditor"]);
            tokens.alice = await issue("alice", ["worker"]);
            tokens.bob = await issue("bob", ["worker"]);
          },
        },
      );
    }, 60_000);
    afterAll(async () => {
      for (const client of clients) await client.close().catch(() => undefined);
      await gw?.stop();
      await schema?.drop();
    });

    async function api(method: string, path: string, token: string | undefined, body?: unknown): Promise<{ status: number; body: Json }> {
      const response = await fetch(`${gw.base}${path}`, {
        method,
        headers: { "content-type": "application/json", ...(token !== undefined && { authorization: `Bearer ${token}` }) },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
      return { status: response.status, body: await response.json() };
    }
    const root = (method: string, path: string) => api(method, path, tokens.root);
    const statusOf = async (name: string) => (await root("GET", `/v1/admin/backends/${name}/status`)).body;
    const sessionIdOf = (client: Client) => (client.transport as StreamableHTTPClientTransport).sessionId!;

    async function open(token: string, name: string, capabilities = {}): Promise<Client> {
      const client = await connectClient(gw.mcpUrl("work"), capabilities, name, { token });
      clients.push(client);
      return client;
    }

    describe("authentication and the admin permissions", () => {
      const READS = ["/v1/admin/sessions", "/v1/admin/backends/status", "/v1/admin/backends/work/status", "/v1/admin/jobs", "/v1/admin/jobs/x"];

      test("no token is 401 and a token without admin permissions 403, on every one of these routes", async () => {
        for (const [method, path] of [...READS.map((path) => ["GET", path] as const), ["POST", "/v1/admin/jobs/x/cancel"] as const]) {
          expect((await api(method, path, undefined)).status, `${method} ${path}`).toBe(401);
          const refused = await api(method, path, tokens.alice);
          expect(refused.status, `${method} ${path}`).toBe(403);
          expect(refused.body.error).toContain(method === "GET" ? "admin:read" : "admin:write");
        }
      });

      test("admin:read reads sessions, backend status and jobs, but may not cancel a job", async () => {
        for (const path of READS.slice(0, 4)) expect((await api("GET", path, tokens.reader)).status, path).toBe(200);
        const refused = await api("POST", "/v1/admin/jobs/x/cancel", tokens.reader);
        expect(refused.status).toBe(403);
        expect(refused.body.error).toContain("admin:write");
      });
    });

    describe("backend status", () => {
      test("before anyone used them, both backends are registered and unknown, with no tools, connections or processes", async () => {
        const answer = await root("GET", "/v1/admin/backends/status");
        expect(answer.status).toBe(200);
        expectDocumented("get", "/v1/admin/backends/status", answer);
        expect(answer.body.backends.map((b: Json) => b.name)).toEqual(["broken", "modern", "work"]);
        for (const backend of answer.body.backends) {
          expect(backend).toMatchObject({ transport: "stdio", health: "unknown", lastError: null, since: null, era: null, protocolVersion: null, tools: [] });
          expect(backend).toMatchObject({ connections: { shared: 0, dedicated: 0 }, processes: [] });
        }
      });

      test("after calls: up, its era and revision, its tools with pins, and each real process with the session it serves", async () => {
        const before = Date.now();
        const sampler = await open(tokens.alice, "sampler", { sampling: {} });
        const plain = await open(tokens.bob, "plain");
        await sampler.callTool({ name: "work", arguments: { key: "status-a" } });
        await plain.callTool({ name: "work", arguments: { key: "status-b" } });

        const work = await until(
          "the pins recorded",
          () => statusOf("work"),
          (s: Json) => s.tools.length > 0 && s.tools.every((t: Json) => t.pin !== null),
        );
        expect(work).toMatchObject({ name: "work", transport: "stdio", health: "up", lastError: null, era: "legacy" });
        expect(Date.parse(work.since)).toBeGreaterThanOrEqual(before - 1_000);
        expect(work.protocolVersion).toMatch(/^\d{4}-\d{2}-\d{2}$/);
        expect(work.tools.map((t: Json) => t.name)).toEqual(["big", "fail", "work", "work-idempotent"]);
        expect(work.tools.find((t: Json) => t.name === "work")).toEqual({
          name: "work",
          description: "Works ms milliseconds in steps, with progress",
          pin: "pinned",
        });

        // The sampling client has a process of its own; everyone else shares.
        expect(work.connections.dedicated).toBe(1);
        expect(work.connections.shared).toBeGreaterThanOrEqual(1);
        expect(work.processes).toHaveLength(work.connections.shared + work.connections.dedicated);
        const own = work.processes.filter((p: Json) => p.session !== null);
        expect(own).toEqual([{ pid: expect.any(Number), session: sessionIdOf(sampler) }]);
        for (const { pid } of work.processes) {
          const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
          expect(cmdline, `pid ${pid}`).toContain("work-server.ts");
        }
        expectDocumented("get", "/v1/admin/backends/{name}/status", { status: 200, body: work });

        // The session listing names the same process as the sampler's own.
        await Bun.sleep(3 * INTERVAL_MS);
        const sessions = (await root("GET", "/v1/admin/sessions")).body.sessions;
        expect(sessions.find((s: Json) => s.id === sessionIdOf(sampler)).dedicated).toEqual([{ backend: "work", pid: own[0].pid }]);
      });

      test("a backend whose command fails is down since the attempt, saying why (its last stderr line), with nothing listed or running", async () => {
        const before = Date.now();
        await connectClient(gw.mcpUrl("broken"), {}, "prober", { token: tokens.alice }).then(
          (client) => client.close(),
          () => undefined,
        );
        const broken = await until(
          "broken reported down",
          () => statusOf("broken"),
          (s: Json) => s.health === "down",
        );
        expect(broken).toMatchObject({ name: "broken", era: null, protocolVersion: null, tools: [], connections: { shared: 0, dedicated: 0 }, processes: [] });
        expect(broken.lastError).toContain("BROKEN_CONFIG is not set");
        expect(Date.parse(broken.since)).toBeGreaterThanOrEqual(before - 1_000);
      });

      test("a backend that speaks only 2026-07-28 is modern, with that revision, and its process is shared", async () => {
        const client = await connectClient(gw.mcpUrl("modern"), {}, "modern-caller", { token: tokens.bob });
        clients.push(client);
        await client.callTool({ name: "echo", arguments: { text: "hi" } });
        const modern = await until(
          "modern up",
          () => statusOf("modern"),
          (s: Json) => s.health === "up",
        );
        expect(modern).toMatchObject({ transport: "stdio", era: "modern", protocolVersion: "2026-07-28", lastError: null });
        expect(modern.processes.length).toBeGreaterThanOrEqual(1);
        expect(modern.processes.every((p: Json) => p.session === null)).toBe(true);
        expect(modern.tools.map((t: Json) => t.name)).toContain("echo");
      });

      test("a changed backend starts over: unknown, with nothing listed, until a connection to its new settings reports", async () => {
        expect((await statusOf("broken")).health).toBe("down");
        const changed = await api("PATCH", "/v1/admin/backends/broken", tokens.root, { timeout: "20s", test: false });
        expect(changed.status).toBe(200);
        const reset = await until(
          "broken forgotten",
          () => statusOf("broken"),
          (s: Json) => s.health !== "down",
        );
        expect(reset).toMatchObject({ health: "unknown", lastError: null, since: null, era: null, tools: [], processes: [] });
      });

      test("an unknown backend's status is 404; 'status' is the list, and no backend may be named so", async () => {
        const missing = await root("GET", "/v1/admin/backends/nowhere/status");
        expect(missing.status).toBe(404);
        expect(missing.body).toMatchObject({ error: 'there is no backend "nowhere"', hint: expect.stringContaining("GET /v1/admin/backends") });
        const named = await api("POST", "/v1/admin/backends", tokens.root, { name: "status", url: "http://127.0.0.1:9/mcp", test: false });
        expect(named.status).toBe(400);
        expect(named.body.field).toBe("name");
        expect(named.body.error).toContain('"status" is reserved');
        expect((await root("GET", "/v1/admin/backends")).body.backends.map((b: Json) => b.name)).not.toContain("status");
        expect((await root("GET", "/v1/admin/backends/status")).body.backends).toHaveLength(3);
      });
    });

    describe("sessions", () => {
      test("every session of real SDK clients, exactly as `mcpgw sessions list --json` prints them, with the gateway that holds them", async () => {
        const listed = await open(tokens.bob, "listed-client");
        await listed.listTools();
        await Bun.sleep(3 * INTERVAL_MS);
        const answer = await root("GET", "/v1/admin/sessions");
        expect(answer.status).toBe(200);
        expectDocumented("get", "/v1/admin/sessions", answer);
        const mine = answer.body.sessions.find((s: Json) => s.id === sessionIdOf(listed));
        expect(mine).toMatchObject({
          subject: "bob",
          client: "listed-client 1.0.0",
          route: "/mcp/work",
          dedicated: [],
          gateway: { pid: process.pid, stale: false },
        });
        expect(mine.idleSec).toBeLessThan(5);
        expect(answer.body.gateways).toEqual([mine.gateway]);

        const cli = await runCli(["sessions", "list", "--json", "--db", schema?.url ?? gw.gateway.store.location]);
        expect(cli.code).toBe(0);
        const printed = JSON.parse(cli.stdout) as Json[];
        // The same sessions, field for field (ages are whole seconds, read a moment apart).
        const withoutAges = (sessions: Json[]) =>
          sessions.map(({ ageSec: _a, idleSec: _i, gateway: { publishedAt: _p, ...gateway }, ...rest }) => ({ ...rest, gateway }));
        expect(withoutAges(printed)).toEqual(withoutAges(answer.body.sessions));
      });

      test("a gateway that stopped publishing: its sessions left out, unless includeStale=true (then marked); the gateway is listed as stale", async () => {
        const store = gw.gateway.store;
        const instance = await publishStaleGateway(store);
        try {
          const live = await root("GET", "/v1/admin/sessions");
          expect(live.body.sessions.map((s: Json) => s.subject)).not.toContain("zed");
          expect(live.body.gateways.find((g: Json) => g.instance === instance)).toMatchObject({ host: "elsewhere", pid: 99_999, stale: true });
          expect(live.body.gateways.filter((g: Json) => !g.stale)).toHaveLength(1);
          const all = await root("GET", "/v1/admin/sessions?includeStale=true");
          expect(all.body.sessions.find((s: Json) => s.id === "ghost-session")).toMatchObject({
            subject: "zed",
            ageSec: 50,
            gateway: { instance, stale: true },
          });
          expectDocumented("get", "/v1/admin/sessions", all);
        } finally {
          await store.sessionSnapshots.remove(instance);
        }
      });

      test("an ended session leaves the list at the next publication", async () => {
        const leaving = await open(tokens.alice, "leaving");
        await Bun.sleep(3 * INTERVAL_MS);
        const id = sessionIdOf(leaving);
        expect((await root("GET", "/v1/admin/sessions")).body.sessions.map((s: Json) => s.id)).toContain(id);
        await (leaving.transport as StreamableHTTPClientTransport).terminateSession();
        await until(
          "the session gone",
          () => root("GET", "/v1/admin/sessions"),
          (a) => !a.body.sessions.some((s: Json) => s.id === id),
          5_000,
        );
      });

      test("includeStale takes true or false: anything else is 400 naming it", async () => {
        const wrong = await root("GET", "/v1/admin/sessions?includeStale=yes");
        expect(wrong.status).toBe(400);
        expect(wrong.body.field).toBe("includeStale");
        expect((await root("GET", "/v1/admin/sessions?everything=1")).body.field).toBe("everything");
      });
    });

    describe("jobs", () => {
      const submit = async (who: "alice" | "bob", args: Record<string, unknown>) => {
        const answer = await api("POST", "/v1/jobs", tokens[who], { backend: "work", tool: "work", arguments: args });
        expect(answer.status).toBe(202);
        return answer.body.id as string;
      };
      let slow = "";
      let quick = "";

      beforeAll(async () => {
        quick = await submit("bob", { key: "quick" });
        await until(
          "the quick job done",
          () => root("GET", `/v1/admin/jobs/${quick}`),
          (a) => a.body.status === "completed",
        );
        slow = await submit("alice", { key: "slow", ms: 30_000, steps: 60 });
        await until(
          "the slow job reporting progress",
          () => root("GET", `/v1/admin/jobs/${slow}`),
          (a) => a.body.progress !== undefined,
        );
      }, 30_000);

      test("every subject's jobs newest first, filtered by subject, status and backend, paged by cursor", async () => {
        const all = await root("GET", "/v1/admin/jobs");
        expect(all.status).toBe(200);
        expectDocumented("get", "/v1/admin/jobs", all);
        expect(all.body.jobs.map((j: Json) => [j.id, j.owner])).toEqual([
          [slow, "alice"],
          [quick, "bob"],
        ]);
        expect(all.body.nextCursor).toBeNull();
        expect((await root("GET", "/v1/admin/jobs?subject=bob")).body.jobs.map((j: Json) => j.id)).toEqual([quick]);
        expect((await root("GET", "/v1/admin/jobs?status=working")).body.jobs.map((j: Json) => j.id)).toEqual([slow]);
        expect((await root("GET", "/v1/admin/jobs?subject=alice&status=completed")).body.jobs).toEqual([]);
        expect((await root("GET", "/v1/admin/jobs?backend=broken")).body.jobs).toEqual([]);

        const first = await root("GET", "/v1/admin/jobs?limit=1");
        expect(first.body.jobs.map((j: Json) => j.id)).toEqual([slow]);
        expect(first.body.nextCursor).toEqual(expect.any(String));
        const second = await root("GET", `/v1/admin/jobs?limit=1&cursor=${first.body.nextCursor}`);
        expect(second.body).toMatchObject({ jobs: [{ id: quick }], nextCursor: null });
      });

      test.each([
        ["a status that is none", "status=paused", "status"],
        ["a cursor it did not give out", "cursor=bm90LWEtY3Vyc29y", "cursor"],
        ["a limit out of range", "limit=0", "limit"],
        ["an unknown parameter", "owner=alice", "owner"],
      ])("the listing refuses %s: 400 naming the field", async (_what, query, field) => {
        const answer = await root("GET", `/v1/admin/jobs?${query}`);
        expect(answer.status).toBe(400);
        expect(answer.body.field).toBe(field);
      });

      test("one job with its progress while it runs, and its result once it ended; an unknown id is 404", async () => {
        const running = await root("GET", `/v1/admin/jobs/${slow}`);
        expectDocumented("get", "/v1/admin/jobs/{id}", running);
        expect(running.body).toMatchObject({ id: slow, owner: "alice", status: "working", progress: { total: 60 } });
        const done = await api("GET", `/v1/admin/jobs/${quick}`, tokens.reader);
        expect(done.body).toMatchObject({ owner: "bob", status: "completed", result: { content: [{ type: "text", text: "worked on quick" }] } });
        const missing = await root("GET", "/v1/admin/jobs/0193a5f2-0000-7000-8000-000000000000");
        expect(missing.status).toBe(404);
        expect(missing.body.hint).toContain("GET /v1/admin/jobs");
      });

      test("a queued job (the one worker is busy) is cancelled at once, before it started", async () => {
        const queued = await submit("bob", { key: "queued" });
        expect((await root("GET", `/v1/admin/jobs/${queued}`)).body.status).toBe("queued");
        const cancelled = await root("POST", `/v1/admin/jobs/${queued}/cancel`);
        expect(cancelled.status).toBe(200);
        expect(cancelled.body).toMatchObject({ id: queued, owner: "bob", status: "cancelled", error: { message: "cancelled before it started" } });
        expect(workLog()).not.toContain("start queued");
      });

      test("cancel stops another subject's running job (the backend sees it), audited with the status before and after; again is 409", async () => {
        const cancelled = await root("POST", `/v1/admin/jobs/${slow}/cancel`);
        expect(cancelled.status).toBe(200);
        expectDocumented("post", "/v1/admin/jobs/{id}/cancel", cancelled);
        expect(cancelled.body).toMatchObject({ id: slow, owner: "alice", status: "cancelled" });
        await until(
          "the backend told",
          async () => workLog(),
          (lines) => lines.includes("cancelled slow"),
        );
        expect(workLog()).not.toContain("end slow");

        const page = await root("GET", "/v1/admin/audit?subject=root&limit=200");
        const change = page.body.records.filter((r: Json) => r.method === "admin/jobs.cancel" && r.target === slow);
        expect(change).toHaveLength(1);
        expect(change[0]).toMatchObject({
          status: "ok",
          subject: "root",
          backend: "work",
          client: { name: "mcpgw-admin-api" },
          rule: "allow admin:* (role ops)",
        });
        expect(change[0].arguments.before).toMatchObject({ id: slow, owner: "alice", tool: "work", status: "working", cancelRequested: false });
        expect(change[0].arguments.after).toMatchObject({ id: slow, owner: "alice", status: "cancelled" });
        // The job service's own record of the cancel (as for an owner's), by the admin.
        const serviceRecord = page.body.records.find((r: Json) => r.method === "jobs/cancel" && r.requestId === slow);
        expect(serviceRecord).toMatchObject({ status: "ok", subject: "root", target: "work" });

        const again = await root("POST", `/v1/admin/jobs/${slow}/cancel`);
        expect(again.status).toBe(409);
        expect(again.body.error).toMatch(/already ended \(cancelled\)/);
        expect(again.body.hint).toContain(`GET /v1/admin/jobs/${slow}`);
        expect((await root("POST", `/v1/admin/jobs/${quick}/cancel`)).status).toBe(409);
        expect((await root("POST", "/v1/admin/jobs/no-such-job/cancel")).status).toBe(404);
        const after = await root("GET", "/v1/admin/audit?subject=root&limit=200");
        expect(after.body.records.filter((r: Json) => r.method === "admin/jobs.cancel" && r.target === slow)).toHaveLength(1);
      }, 20_000);
    });
  });
}
