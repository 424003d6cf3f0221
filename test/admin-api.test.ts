import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ADMIN_ROUTES } from "../src/admin/admin-router.ts";
import { issueToken } from "../src/auth/token-issuer.ts";
import { parsePermission } from "../src/policy/permission.ts";
import { REPO_ROOT } from "./helpers/cli.ts";
import { BUN, type TestGateway, startTestGateway } from "./helpers/gateway.ts";
import { type IsolatedSchema, isolatedSchema, postgresAvailable } from "./helpers/postgres.ts";

// biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field
type Json = any;

/**
 * The admin API's contract (issue 20, points 1 and 3) on a real gateway: authentication required
 * (401), the admin permission required (403 on every route of the table for a token without it),
 * validation errors 400 naming the field, and an audit record with the before and after of every
 * change, read back through the API's own audit query.
 */

const WORK = { name: "work", command: [BUN, join(REPO_ROOT, "test/fixtures/work-server.ts"), "--stdio"] };
const AUTH = { tokenIssuer: "mcpgw", tokenAudience: "mcpgw", signingAlg: "EdDSA" as const };

const postgres = await postgresAvailable();

for (const dialect of ["sqlite", "postgres"] as const) {
  describe.skipIf(dialect === "postgres" && !postgres)(`the admin API on ${dialect}`, () => {
    let schema: IsolatedSchema | undefined;
    let gw: TestGateway;
    const tokens = { root: "", reader: "", dev: "" };

    beforeAll(async () => {
      schema = dialect === "postgres" ? await isolatedSchema("admin") : undefined;
      gw = await startTestGateway(
        [WORK],
        { auth: "required" },
        {
          ...(schema && { databaseUrl: schema.url }),
          prepare: async (store) => {
            const rule = (effect: "allow" | "deny", text: string) => ({ effect, permission: parsePermission(text) });
            await store.roles.create({ name: "ops", rules: [rule("allow", "admin:*")] });
            await store.roles.create({ name: "auditor", rules: [rule("allow", "admin:read")] });
            // Every tool, resource, prompt and method of every backend: still no admin permission.
            await store.roles.create({ name: "everything", rules: [rule("allow", "*"), rule("allow", "method:*"), rule("allow", "resource:*")] });
            const issue = async (subject: string, roles: string[]) => (await issueToken(store, AUTH, { subject, roles, ttlMs: 3_600_000 })).token;
            tokens.root = await issue("root", ["ops"]);
            tokens.reader = await issue("reader", ["auditor"]);
            tokens.dev = await issue("dev", ["everything"]);
          },
        },
      );
    }, 60_000);
    afterAll(async () => {
      await gw?.stop();
      await schema?.drop();
    });

    async function api(
      method: string,
      path: string,
      options: { token?: string; body?: unknown } = {},
    ): Promise<{ status: number; body: Json; headers: Headers }> {
      const response = await fetch(`${gw.base}${path}`, {
        method,
        headers: { "content-type": "application/json", ...(options.token !== undefined && { authorization: `Bearer ${options.token}` }) },
        ...(options.body !== undefined && method !== "GET" && { body: JSON.stringify(options.body) }),
      });
      return { status: response.status, body: await response.json(), headers: response.headers };
    }
    const root = (method: string, path: string, body?: unknown) => api(method, path, { token: tokens.root, ...(body !== undefined && { body }) });

    /** A route's path with its {params} filled in. */
    const concrete = (path: string) => path.replace(/\{([^}]+)\}/g, (_, name: string) => (name === "seq" ? "1" : `x-${name}`));

    /** The audit records of one admin action, newest first, as the API's own query returns them. */
    async function changesOf(action: string, target?: string): Promise<Json[]> {
      const page = await root("GET", "/v1/admin/audit?subject=root&limit=200");
      expect(page.status).toBe(200);
      return page.body.records.filter((r: Json) => r.method === `admin/${action}` && (target === undefined || r.target === target));
    }

    describe("authentication and the admin permissions, on every route of the table", () => {
      test("the table covers each resource, with read routes needing admin:read and changing ones admin:write", () => {
        const paths = new Set(ADMIN_ROUTES.map((route) => route.path.split("/")[3]));
        expect([...paths].sort()).toEqual(["audit", "backends", "calls", "jobs", "limits", "policy", "roles", "sessions", "stats", "tokens"]);
        // The policy checker is a POST (its question has a body) that changes nothing: it reads.
        const readingPosts = new Set(["post /v1/admin/policy/check"]);
        for (const route of ADMIN_ROUTES) {
          const where = `${route.method} ${route.path}`;
          expect(route.permission, where).toBe(route.method === "get" || readingPosts.has(where) ? "read" : "write");
        }
      });

      test("no token: 401 with WWW-Authenticate and an {error, hint} body, on every route", async () => {
        for (const route of ADMIN_ROUTES) {
          const answer = await api(route.method.toUpperCase(), concrete(route.path), { body: {} });
          expect(answer.status, `${route.method} ${route.path}`).toBe(401);
          expect(answer.headers.get("www-authenticate")).toMatch(/^Bearer /);
          expect(answer.body.hint).toContain("mcpgw token issue");
        }
      });

      test("a token whose roles allow every tool but no admin permission: 403 on every route, saying which permission and how to grant it", async () => {
        for (const route of ADMIN_ROUTES) {
          const answer = await api(route.method.toUpperCase(), concrete(route.path), { token: tokens.dev, body: {} });
          const where = `${route.method} ${route.path}`;
          expect(answer.status, where).toBe(403);
          expect(answer.body.error, where).toContain(`admin:${route.permission}`);
          expect(answer.body.error, where).toContain('"dev"');
          expect(answer.body.hint, where).toContain(`mcpgw role create operators --allow 'admin:${route.permission}'`);
          expect(answer.body.hint, where).toContain("mcpgw role grant operators dev");
        }
      });

      test("admin:read reads but may not change: 403 on every changing route", async () => {
        for (const route of ADMIN_ROUTES) {
          if (route.permission !== "write") continue;
          const answer = await api(route.method.toUpperCase(), concrete(route.path), { token: tokens.reader, body: {} });
          expect(answer.status, `${route.method} ${route.path}`).toBe(403);
          expect(answer.body.error).toContain("admin:write");
        }
        expect((await api("GET", "/v1/admin/roles", { token: tokens.reader })).status).toBe(200);
      });

      test("a refusal is audited as denied, with the rule that decided", async () => {
        await api("DELETE", "/v1/admin/roles/ops", { token: tokens.reader });
        const page = await root("GET", "/v1/admin/audit?subject=reader&status=denied");
        const record = page.body.records.find((r: Json) => r.method === "admin/roles.delete");
        expect(record).toMatchObject({ status: "denied", subject: "reader", rule: expect.stringContaining("default deny") });
      });

      test("unknown admin paths are 404 and wrong methods 405 with Allow", async () => {
        expect((await root("GET", "/v1/admin/nothing")).status).toBe(404);
        expect((await root("GET", "/v1/admin/roles/%E0%A4%A")).status).toBe(404);
        const wrong = await root("PUT", "/v1/admin/roles");
        expect(wrong.status).toBe(405);
        expect(wrong.headers.get("allow")).toBe("GET, POST");
      });
    });

    describe("roles and grants", () => {
      test("create, show, update, grant, revoke, delete: each change audited with before and after", async () => {
        const created = await root("POST", "/v1/admin/roles", { name: "analyst", allow: ["work/*", "nowhere/*"], description: "reads" });
        expect(created.status).toBe(201);
        expect(created.body.role).toMatchObject({ name: "analyst", allow: ["work/*", "nowhere/*"], deny: [], subjects: [] });
        expect(created.body.warnings).toEqual(['allow nowhere/* names backend "nowhere", which is not registered']);
        expect((await root("GET", "/v1/admin/roles/analyst")).body.allow).toEqual(["work/*", "nowhere/*"]);

        const updated = await root("PATCH", "/v1/admin/roles/analyst", { removeRule: ["nowhere/*"], deny: ["work/delete_*"] });
        expect(updated.status).toBe(200);
        expect(updated.body.role).toMatchObject({ allow: ["work/*"], deny: ["work/delete_*"] });
        expect((await root("PUT", "/v1/admin/roles/analyst/subjects/alice")).body).toEqual({ role: "analyst", subjects: ["alice"] });
        expect((await root("DELETE", "/v1/admin/roles/analyst/subjects/alice")).body).toEqual({ role: "analyst", subjects: [] });
        expect((await root("DELETE", "/v1/admin/roles/analyst")).status).toBe(200);
        expect((await root("GET", "/v1/admin/roles/analyst")).status).toBe(404);

        const [create] = await changesOf("roles.create", "analyst");
        expect(create).toMatchObject({ status: "ok", subject: "root", roles: ["ops"], rule: "allow admin:* (role ops)", client: { name: "mcpgw-admin-api" } });
        expect(create.arguments.before).toBeNull();
        expect(create.arguments.after).toMatchObject({ name: "analyst", allow: ["work/*", "nowhere/*"] });
        const [update] = await changesOf("roles.update", "analyst");
        expect(update.arguments.before).toMatchObject({ allow: ["work/*", "nowhere/*"], deny: [] });
        expect(update.arguments.after).toMatchObject({ allow: ["work/*"], deny: ["work/delete_*"] });
        const [grant] = await changesOf("grants.grant", "analyst");
        expect(grant.arguments).toEqual({ before: { subjects: [] }, after: { subjects: ["alice"] } });
        const [revoke] = await changesOf("grants.revoke", "analyst");
        expect(revoke.arguments).toEqual({ before: { subjects: ["alice"] }, after: { subjects: [] } });
        const [remove] = await changesOf("roles.delete", "analyst");
        expect(remove.arguments.before).toMatchObject({ name: "analyst" });
        expect(remove.arguments.after).toBeNull();
      });

      test.each([
        ["a malformed pattern names its item", { name: "bad", allow: ["work/*", "github"] }, "allow[1]", /not BACKEND\/NAME/],
        ["an unknown admin permission", { name: "bad", allow: ["admin:delete"] }, "allow[0]", /names no admin permission/],
        ["a role name with spaces", { name: "no spaces" }, "name", /not a valid role name/],
        ["an unknown field", { name: "bad", allows: ["*"] }, "allows", /allows/],
        ["a missing name", { allow: ["*"] }, "name", /name/],
      ])("POST /v1/admin/roles, %s: 400 naming the field, nothing written", async (_what, body, field, message) => {
        const answer = await root("POST", "/v1/admin/roles", body);
        expect(answer.status).toBe(400);
        expect(answer.body.field).toBe(field);
        expect(answer.body.error).toMatch(message);
        expect((await root("GET", "/v1/admin/roles")).body.roles.map((r: Json) => r.name)).not.toContain("bad");
      });

      test("a body nested past the JSON budget is refused before it is parsed, as on /mcp and /v1/jobs: 400 saying why", async () => {
        const deep = `{"name":"deep","description":${"[".repeat(100_000)}${"]".repeat(100_000)}}`;
        const started = performance.now();
        const response = await fetch(`${gw.base}/v1/admin/roles`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${tokens.root}` },
          body: deep,
        });
        const elapsed = performance.now() - started;
        expect(response.status).toBe(400);
        expect(((await response.json()) as Json).error).toContain("nests deeper than 64 levels (the bound is MCPGW_MAX_JSON_DEPTH)");
        expect(elapsed).toBeLessThan(1_000);
        expect((await root("GET", "/v1/admin/roles")).body.roles.map((r: Json) => r.name)).not.toContain("deep");
      });

      test("conflicts are 409 and missing grants 404, with the store's hint", async () => {
        expect((await root("POST", "/v1/admin/roles", { name: "ops" })).status).toBe(409);
        const missing = await root("DELETE", "/v1/admin/roles/ops/subjects/nobody");
        expect(missing.status).toBe(404);
        expect(missing.body.error).toContain('"nobody" does not have role "ops"');
        const nothing = await root("PATCH", "/v1/admin/roles/ops", {});
        expect(nothing.status).toBe(400);
        expect(nothing.body.error).toBe("nothing to change");
      });
    });

    describe("tokens", () => {
      test("issue, list, revoke: the revoked token is refused, and the audit holds the claims, never the token", async () => {
        const issued = await root("POST", "/v1/admin/tokens", { sub: "ci-bot", role: ["auditor"], ttl: "10m", description: "CI" });
        expect(issued.status).toBe(201);
        expect(issued.body).toMatchObject({ subject: "ci-bot", roles: ["auditor"], status: "active", issuer: "mcpgw", audience: "mcpgw" });
        const token: string = issued.body.token;
        expect((await api("GET", "/v1/admin/tokens", { token })).status).toBe(200);
        const listed = (await root("GET", "/v1/admin/tokens")).body.tokens.find((t: Json) => t.jti === issued.body.jti);
        expect(listed).toMatchObject({ subject: "ci-bot", status: "active" });
        expect(JSON.stringify(listed)).not.toContain(token);

        const revoked = await root("DELETE", `/v1/admin/tokens/${issued.body.jti}`);
        expect(revoked.body).toMatchObject({ outcome: "revoked", token: { status: "revoked" } });
        expect((await root("DELETE", `/v1/admin/tokens/${issued.body.jti}`)).body.outcome).toBe("already-revoked");
        // Running gateways refuse a revoked token within about a second.
        let status = 200;
        for (let i = 0; i < 100 && status !== 401; i++) {
          await Bun.sleep(50);
          status = (await api("GET", "/v1/admin/tokens", { token })).status;
        }
        expect(status).toBe(401);

        const [issue] = await changesOf("tokens.issue", issued.body.jti);
        expect(issue.arguments.before).toBeNull();
        expect(issue.arguments.after).toMatchObject({ jti: issued.body.jti, subject: "ci-bot", roles: ["auditor"] });
        expect(JSON.stringify(issue)).not.toContain(token);
        const revokes = await changesOf("tokens.revoke", issued.body.jti);
        expect(revokes).toHaveLength(1);
        expect(revokes[0].arguments.before.status).toBe("active");
        expect(revokes[0].arguments.after.status).toBe("revoked");
      });

      test("revoke every live token of a subject: audited with the tokens before and after", async () => {
        const first = await root("POST", "/v1/admin/tokens", { sub: "temp", role: ["auditor"] });
        const second = await root("POST", "/v1/admin/tokens", { sub: "temp" });
        const answer = await root("POST", "/v1/admin/tokens/revoke", { sub: "temp" });
        expect(answer.status).toBe(200);
        expect(answer.body.revoked.map((t: Json) => t.jti).sort()).toEqual([first.body.jti, second.body.jti].sort());
        expect(answer.body.revoked.every((t: Json) => t.status === "revoked")).toBe(true);
        expect((await root("POST", "/v1/admin/tokens/revoke", { sub: "temp" })).body).toEqual({ revoked: [] });
        const records = await changesOf("tokens.revoke-all", "temp");
        expect(records).toHaveLength(1);
        expect(records[0].arguments.before.map((t: Json) => t.status)).toEqual(["active", "active"]);
        expect(records[0].arguments.after.map((t: Json) => t.status)).toEqual(["revoked", "revoked"]);
      });

      test.each([
        ["a lifetime that is not a duration", { sub: "x", ttl: "soon" }, "ttl"],
        ["a lifetime beyond the bound", { sub: "x", ttl: "10y" }, "ttl"],
        ["a malformed role name", { sub: "x", role: ["ok", "not ok"] }, "role[1]"],
        ["no subject", { role: ["ops"] }, "sub"],
        ["a subject with control characters", { sub: "a\u0001b" }, "sub"],
      ])("POST /v1/admin/tokens, %s: 400 naming the field", async (_what, body, field) => {
        const answer = await root("POST", "/v1/admin/tokens", body);
        expect(answer.status).toBe(400);
        expect(answer.body.field).toBe(field);
        expect(answer.body.hint).toEqual(expect.any(String));
      });

      test("a role that does not exist is 404, and nothing is issued", async () => {
        const answer = await root("POST", "/v1/admin/tokens", { sub: "x", role: ["ghost"] });
        expect(answer.status).toBe(404);
        expect(answer.body.hint).toContain("mcpgw role create ghost");
      });
    });

    describe("backends", () => {
      test("add (tested), show, update, test, remove: each change audited with before and after, secrets redacted", async () => {
        const added = await root("POST", "/v1/admin/backends", { name: "work2", command: WORK.command.join(" "), env: ["API_TOKEN=s3cret-value-123"] });
        expect(added.status).toBe(201);
        expect(added.body.tested).toMatchObject({ backend: "work2", era: expect.any(String), tools: expect.arrayContaining(["work"]) });
        expect(added.body.backend.env.API_TOKEN).not.toContain("s3cret");
        expect((await root("GET", "/v1/admin/backends")).body.backends.map((b: Json) => b.name).sort()).toEqual(["work", "work2"]);

        const updated = await root("PATCH", "/v1/admin/backends/work2", { timeout: "45s", test: false });
        expect(updated.body).toMatchObject({ backend: { timeoutMs: 45_000 }, changed: ["timeout"] });
        const probe = await root("POST", "/v1/admin/backends/work2/test");
        expect(probe.status).toBe(200);
        expect(probe.body.tools).toContain("work");
        const removed = await root("DELETE", "/v1/admin/backends/work2");
        expect(removed.body.backend.name).toBe("work2");
        expect((await root("GET", "/v1/admin/backends/work2")).status).toBe(404);

        const [add] = await changesOf("backends.add", "work2");
        expect(add).toMatchObject({ backend: "work2", status: "ok" });
        expect(add.arguments.before).toBeNull();
        expect(JSON.stringify(add)).not.toContain("s3cret");
        const [update] = await changesOf("backends.update", "work2");
        expect(update.arguments.before.timeoutMs).not.toBe(45_000);
        expect(update.arguments.after.timeoutMs).toBe(45_000);
        const [remove] = await changesOf("backends.remove", "work2");
        expect(remove.arguments.after).toBeNull();
      });

      test.each([
        ["a malformed timeout", { name: "b1", command: "x", timeout: "soon", test: false }, "timeout"],
        ["both url and command", { name: "b2", command: "x", url: "http://127.0.0.1:1/mcp", test: false }, "url"],
        ["env on an HTTP backend", { name: "b3", url: "http://127.0.0.1:1/mcp", env: ["A=1"], test: false }, "env"],
        ["a malformed name", { name: "no spaces", command: "x", test: false }, "name"],
        ["a list given as text", { name: "b4", command: "x", env: "A=1" }, "env"],
      ])("POST /v1/admin/backends, %s: 400 naming the field", async (_what, body, field) => {
        const answer = await root("POST", "/v1/admin/backends", body);
        expect(answer.status).toBe(400);
        expect(answer.body.field).toBe(field);
      });

      test("a backend whose test fails is not saved: 422 saying why and how to skip the test", async () => {
        const answer = await root("POST", "/v1/admin/backends", { name: "down", url: "http://127.0.0.1:9/mcp", timeout: "2s" });
        expect(answer.status).toBe(422);
        expect(answer.body.error).toContain('backend "down" was not added');
        expect((await root("GET", "/v1/admin/backends/down")).status).toBe(404);
      });
    });

    describe("limits", () => {
      test("set, update, remove: each change audited with before and after", async () => {
        const set = await root("POST", "/v1/admin/limits", { sub: "alice", rate: "100/min" });
        expect(set.status).toBe(200);
        const id: string = set.body.limit.id;
        expect(set.body.limit).toMatchObject({ scope: "subject", subject: "alice", rate: "100/min", burst: 100 });
        expect((await root("PATCH", `/v1/admin/limits/${id}`, { rate: "200/min" })).body).toMatchObject({ id, rate: "200/min", burst: 200 });
        expect((await root("GET", "/v1/admin/limits")).body.limits.map((l: Json) => l.id)).toContain(id);
        expect((await root("DELETE", `/v1/admin/limits/${id}`)).status).toBe(200);
        expect((await root("DELETE", `/v1/admin/limits/${id}`)).status).toBe(404);

        const [created] = await changesOf("limits.set", id);
        expect(created.arguments).toMatchObject({ before: null, after: { rate: "100/min" } });
        const [updated] = await changesOf("limits.update", id);
        expect(updated.arguments).toMatchObject({ before: { rate: "100/min" }, after: { rate: "200/min" } });
        const [removed] = await changesOf("limits.remove", id);
        expect(removed.arguments).toMatchObject({ before: { rate: "200/min" }, after: null });
      });

      test.each([
        ["a malformed rate", { sub: "a", rate: "lots" }, "rate"],
        ["no scope", { rate: "1/s" }, "sub"],
        ["a burst of zero", { sub: "a", rate: "1/s", burst: "0" }, "burst"],
        ["a malformed tool pattern", { sub: "a", rate: "1/s", tool: "" }, "tool"],
      ])("POST /v1/admin/limits, %s: 400 naming the field", async (_what, body, field) => {
        const answer = await root("POST", "/v1/admin/limits", body);
        expect(answer.status).toBe(400);
        expect(answer.body.field).toBe(field);
      });
    });

    describe("audit", () => {
      test("filters, cursor paging through every record once, one record with its chain position, verify", async () => {
        for (const name of ["p1", "p2", "p3", "p4", "p5"]) expect((await root("POST", "/v1/admin/roles", { name })).status).toBe(201);
        const seen: string[] = [];
        let cursor: string | undefined;
        for (let pages = 0; pages < 10; pages++) {
          const page = await root("GET", `/v1/admin/audit?subject=root&tool=p*&limit=2${cursor ? `&cursor=${cursor}` : ""}`);
          expect(page.status).toBe(200);
          expect(page.body.records.length).toBeLessThanOrEqual(2);
          seen.push(...page.body.records.map((r: Json) => r.target));
          cursor = page.body.nextCursor;
          if (!cursor) break;
        }
        // Newest first, each once.
        expect(seen).toEqual(["p5", "p4", "p3", "p2", "p1"]);

        const [record] = (await root("GET", "/v1/admin/audit?subject=root&limit=1")).body.records;
        const detail = await root("GET", `/v1/admin/audit/${record.chain.id}/${record.chain.seq}`);
        expect(detail.status).toBe(200);
        expect(detail.body.record).toEqual(record);
        expect(detail.body.verification).toMatchObject({ chainId: record.chain.id, ok: true });
        expect(detail.body.verification.to).toBeGreaterThanOrEqual(record.chain.seq);
        expect((await root("GET", `/v1/admin/audit/${record.chain.id}/999999`)).status).toBe(404);

        const verify = await root("GET", "/v1/admin/audit/verify");
        expect(verify.body.ok).toBe(true);
        expect(verify.body.chains.length).toBeGreaterThan(0);

        expect((await root("GET", "/v1/admin/audit?since=2099-01-01")).body.records).toEqual([]);
        expect((await root("GET", "/v1/admin/audit?status=denied&subject=root")).body.records).toEqual([]);
      });

      test.each([
        ["an unknown status", "status=done", "status"],
        ["a malformed time", "since=yesterday-ish", "since"],
        ["until before since", "since=2026-12-02&until=2026-12-01", "until"],
        ["a page size beyond the bound", "limit=5000", "limit"],
        ["a cursor it did not give out", "cursor=bm9wZQ", "cursor"],
        ["an unknown parameter", "who=alice", "who"],
      ])("GET /v1/admin/audit, %s: 400 naming the field", async (_what, query, field) => {
        const answer = await root("GET", `/v1/admin/audit?${query}`);
        expect(answer.status).toBe(400);
        expect(answer.body.field).toBe(field);
      });
    });
  });
}
