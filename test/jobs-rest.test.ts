import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { issueToken } from "../src/auth/token-issuer.ts";
import type { JobView } from "../src/jobs/job-api-schemas.ts";
import { parsePermission } from "../src/policy/permission.ts";
import { REPO_ROOT } from "./helpers/cli.ts";
import { BUN, type TestGateway, startTestGateway } from "./helpers/gateway.ts";
import { tempDir } from "./helpers/temp-dir.ts";

const AUTH = { tokenIssuer: "mcpgw", tokenAudience: "mcpgw", signingAlg: "EdDSA" as const };
const logDir = tempDir("mcpgw-jobs-rest-");
const WORK_LOG = join(logDir.path, "work.log");
const WORK = { name: "work", command: [BUN, join(REPO_ROOT, "test/fixtures/work-server.ts"), "--stdio"], env: { WORK_LOG } };
/** The same server, where the operator vouches that "work" is idempotent (backend add --idempotent-tool work). */
const WORK_VOUCHED = { ...WORK, name: "vouched" };

/** The backend's own record of what it ran: "start k", "end k", "cancelled k" lines. */
function workLog(): string[] {
  try {
    return readFileSync(WORK_LOG, "utf8")
      .split("\n")
      .filter((line) => line !== "");
  } catch {
    return [];
  }
}

describe("REST jobs (/v1/jobs): authenticated, authorised, limited, audited like a direct call", () => {
  let gw: TestGateway;
  const tokens: Record<string, string> = {};

  const api = (path: string, who: string | undefined, init: RequestInit = {}) =>
    fetch(new URL(path, gw.base), {
      ...init,
      headers: {
        "content-type": "application/json",
        ...(who !== undefined && { authorization: `Bearer ${tokens[who]}` }),
        ...(init.headers as Record<string, string> | undefined),
      },
    });
  const submit = (who: string, body: unknown) => api("/v1/jobs", who, { method: "POST", body: JSON.stringify(body) });
  const job = async (who: string, id: string) => (await api(`/v1/jobs/${id}`, who)).json() as Promise<JobView>;
  async function untilEnded(who: string, id: string): Promise<JobView> {
    for (let i = 0; i < 200; i++) {
      const view = await job(who, id);
      if (["completed", "failed", "cancelled"].includes(view.status)) return view;
      await Bun.sleep(50);
    }
    throw new Error(`job ${id} did not end`);
  }

  beforeAll(async () => {
    gw = await startTestGateway(
      [WORK, WORK_VOUCHED],
      { auth: "required", jobMaxArgumentBytes: "2KiB", jobMaxResultBytes: "4KiB" },
      {
        prepare: async (store) => {
          const rules = (...texts: string[]) => texts.map((text) => ({ effect: "allow" as const, permission: parsePermission(text) }));
          await store.roles.create({ name: "worker", rules: rules("work/*", "vouched/*") });
          const vouched = await store.backends.get("vouched");
          await store.backends.remove("vouched");
          await store.backends.add({ ...vouched!, idempotentTools: ["wor?"] });
          await store.roles.create({ name: "admin", rules: rules("*") });
          await store.roles.create({ name: "limited", rules: rules("work/*") });
          await store.limits.add({ id: "lim-1", scope: "role", scopeValue: "limited", count: 1, periodMs: 3_600_000, burst: 1, createdAt: Date.now() });
          for (const [subject, roles] of [
            ["alice", ["worker"]],
            ["bob", ["worker"]],
            ["root", ["admin"]],
            ["nobody", []],
            ["lim", ["limited"]],
          ] as const) {
            tokens[subject] = (await issueToken(store, AUTH, { subject, roles: [...roles], ttlMs: 3_600_000 })).token;
          }
        },
      },
    );
  }, 60_000);

  afterAll(async () => {
    await gw?.stop();
    logDir.remove();
  });

  test("submit answers 202 at once with a status URL; polling shows progress, then the result", async () => {
    const response = await submit("alice", { backend: "work", tool: "work", arguments: { key: "rest-1", ms: 1_200, steps: 4 } });
    expect(response.status).toBe(202);
    // "At once": the answer is the queued job, not its result (a wall-clock bound here measured the machine's load).
    const accepted = (await response.json()) as JobView;
    expect(response.headers.get("location")).toBe(`/v1/jobs/${accepted.id}`);
    expect(accepted).toMatchObject({ status: "queued", backend: "work", tool: "work", owner: "alice", statusUrl: `/v1/jobs/${accepted.id}` });
    let sawProgress: JobView["progress"];
    for (let i = 0; i < 100 && !sawProgress; i++) {
      const view = await job("alice", accepted.id);
      if (view.status === "working" && view.progress) sawProgress = view.progress;
      else await Bun.sleep(50);
    }
    expect(sawProgress).toMatchObject({ total: 4, message: expect.stringMatching(/^step \d of 4$/) });
    const done = await untilEnded("alice", accepted.id);
    expect(done).toMatchObject({
      status: "completed",
      attempts: 1,
      result: { content: [{ type: "text", text: "worked on rest-1" }] },
      progress: { progress: 4, total: 4 },
    });
    expect(done.finishedAt).toBeDefined();
    expect(workLog()).toEqual(expect.arrayContaining(["start rest-1", "end rest-1"]));
  });

  test("a second subject can neither read nor cancel the first one's job (404); an admin can", async () => {
    const accepted = (await (await submit("alice", { backend: "work", tool: "work", arguments: { key: "private", ms: 300 } })).json()) as JobView;
    expect((await api(`/v1/jobs/${accepted.id}`, "bob")).status).toBe(404);
    expect((await api(`/v1/jobs/${accepted.id}`, "bob", { method: "DELETE" })).status).toBe(404);
    const bobsList = (await (await api("/v1/jobs", "bob")).json()) as { jobs: JobView[] };
    expect(bobsList.jobs.map((j) => j.id)).not.toContain(accepted.id);
    expect((await api(`/v1/jobs/${accepted.id}`, "root")).status).toBe(200);
    const rootsList = (await (await api("/v1/jobs?limit=500", "root")).json()) as { jobs: JobView[] };
    expect(rootsList.jobs.map((j) => j.id)).toContain(accepted.id);
    expect((await untilEnded("alice", accepted.id)).status).toBe("completed");
  });

  test("cancel stops a running job: the backend sees the cancellation, the job ends cancelled, a second cancel is 409", async () => {
    const accepted = (await (
      await submit("alice", { backend: "work", tool: "work", arguments: { key: "to-cancel", ms: 30_000, steps: 30 } })
    ).json()) as JobView;
    for (let i = 0; i < 100 && !workLog().includes("start to-cancel"); i++) await Bun.sleep(50);
    const response = await api(`/v1/jobs/${accepted.id}`, "alice", { method: "DELETE" });
    expect(response.status).toBe(200);
    expect(((await response.json()) as JobView).status).toBe("cancelled");
    for (let i = 0; i < 100 && !workLog().includes("cancelled to-cancel"); i++) await Bun.sleep(50);
    expect(workLog()).toContain("cancelled to-cancel");
    expect(workLog()).not.toContain("end to-cancel");
    const again = await api(`/v1/jobs/${accepted.id}`, "alice", { method: "DELETE" });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: string }).error).toMatch(/already ended \(cancelled\)/);
  });

  test("audit records show the submit, the run's outcome and the cancel, by job id", async () => {
    const ids: string[] = [];
    for (const key of ["audit-done", "audit-cancel"]) {
      ids.push(
        ((await (await submit("bob", { backend: "work", tool: "work", arguments: { key, ms: key === "audit-done" ? 0 : 20_000 } })).json()) as JobView).id,
      );
    }
    await untilEnded("bob", ids[0]!);
    for (let i = 0; i < 100 && (await job("bob", ids[1]!)).status === "queued"; i++) await Bun.sleep(50);
    await api(`/v1/jobs/${ids[1]}`, "bob", { method: "DELETE" });
    await untilEnded("bob", ids[1]!);
    let records: { requestId: string | null; method: string; status: string }[] = [];
    for (let i = 0; i < 100; i++) {
      records = (await gw.gateway.store.audit.list({ filter: { subject: "bob" }, limit: 100 })).filter((r) => ids.includes(r.requestId ?? ""));
      if (records.filter((r) => r.status !== "pending").length >= 5) break;
      await Bun.sleep(50);
    }
    const seen = records.map((r) => `${r.requestId === ids[0] ? "done" : "cancel"} ${r.method} ${r.status}`).sort();
    expect(seen).toEqual(["cancel jobs/cancel ok", "cancel jobs/run cancelled", "cancel jobs/submit ok", "done jobs/run ok", "done jobs/submit ok"]);
  });

  test("bad input gets a clear error and stores nothing", async () => {
    const before = ((await (await api("/v1/jobs?limit=500", "root")).json()) as { jobs: JobView[] }).jobs.length;
    const cases: [unknown, number, RegExp][] = [
      [{ backend: "nope", tool: "work" }, 404, /no backend "nope"|unknown backend|nope/],
      [{ backend: "work", tool: "nope" }, 404, /backend "work" has no tool "nope"/],
      [{ backend: "work", tool: "work", arguments: { key: "x".repeat(4_000) } }, 413, /larger than a job takes \(2 KiB\)/],
      [{ backend: "work" }, 400, /invalid job: tool/],
      [{ backend: "work", tool: "work", extra: 1 }, 400, /invalid job/],
      ["not an object", 400, /invalid job/],
    ];
    for (const [body, status, message] of cases) {
      const response = await submit("alice", body);
      const answer = (await response.json()) as { error: string; hint?: string };
      expect([response.status, answer.error]).toEqual([status, expect.stringMatching(message)]);
    }
    const garbled = await api("/v1/jobs", "alice", { method: "POST", body: "{not json" });
    expect(garbled.status).toBe(400);
    expect(((await garbled.json()) as { error: string }).error).toMatch(/not JSON/);
    expect((await api("/v1/jobs/00000000-0000-0000-0000-000000000000", "alice")).status).toBe(404);
    expect((await api("/v1/jobs/00000000-0000-0000-0000-000000000000", "alice", { method: "DELETE" })).status).toBe(404);
    expect((await api("/v1/jobs?status=sleeping", "alice")).status).toBe(400);
    expect((await api("/v1/jobs", "alice", { method: "PUT" })).status).toBe(405);
    const after = ((await (await api("/v1/jobs?limit=500", "root")).json()) as { jobs: JobView[] }).jobs.length;
    expect(after).toBe(before);
  });

  test("refusals: no token 401, outside the caller's roles 403, over a rate limit 429 with Retry-After", async () => {
    const anonymous = await api("/v1/jobs", undefined);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^Bearer realm="mcpgw", error_description="missing_token: [^"]*mcpgw token issue/);
    const denied = await submit("nobody", { backend: "work", tool: "work", arguments: { key: "denied" } });
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as { error: string }).error).toMatch(/^denied by policy: "nobody" may not use tool "work\/work"/);
    expect((await submit("lim", { backend: "work", tool: "work", arguments: { key: "lim-1" } })).status).toBe(202);
    const limited = await submit("lim", { backend: "work", tool: "work", arguments: { key: "lim-2" } });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  test("the list pages newest first with nextCursor; a made-up cursor is a 400", async () => {
    const ids: string[] = [];
    for (const key of ["page-1", "page-2", "page-3"])
      ids.push(((await (await submit("bob", { backend: "work", tool: "fail", arguments: { key } })).json()) as JobView).id);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = (await (await api(`/v1/jobs?limit=2${cursor ? `&cursor=${cursor}` : ""}`, "bob")).json()) as { jobs: JobView[]; nextCursor?: string };
      expect(page.jobs.length).toBeLessThanOrEqual(2);
      seen.push(...page.jobs.map((j) => j.id));
      cursor = page.nextCursor;
    } while (cursor !== undefined && seen.length < 100);
    expect(seen.filter((id) => ids.includes(id))).toEqual([...ids].reverse());
    expect(new Set(seen).size).toBe(seen.length);
    const bad = await api("/v1/jobs?cursor=not-a-cursor", "bob");
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/^invalid cursor/);
  });

  test("a job is idempotent when the tool's annotations say so or the operator listed the tool on the backend", async () => {
    const idempotent = async (backend: string, tool: string) =>
      ((await (await submit("alice", { backend, tool, arguments: { key: `idem-${backend}-${tool}` } })).json()) as JobView).idempotent;
    expect(await idempotent("work", "work")).toBe(false);
    expect(await idempotent("work", "work-idempotent")).toBe(true);
    expect(await idempotent("vouched", "work")).toBe(true);
  });

  test("a failing tool, and a result over the cap, end the job failed with the reason", async () => {
    const failing = (await (await submit("alice", { backend: "work", tool: "fail" })).json()) as JobView;
    expect(await untilEnded("alice", failing.id)).toMatchObject({
      status: "failed",
      result: { isError: true },
      error: { message: "the tool reported an error (isError)" },
    });
    const big = (await (await submit("alice", { backend: "work", tool: "big", arguments: { bytes: 10_000 } })).json()) as JobView;
    const ended = await untilEnded("alice", big.id);
    expect(ended.status).toBe("failed");
    expect(ended.error?.message).toMatch(/larger than a job may keep \(4 KiB; MCPGW_JOB_MAX_RESULT_BYTES\)/);
    expect(ended.result).toBeUndefined();
  });
});
