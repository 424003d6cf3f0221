import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { JobView } from "../src/jobs/job-api-schemas.ts";
import type { NewJob } from "../src/jobs/job-record.ts";
import { type CliResult, runCli } from "./helpers/cli.ts";
import { BOTH_STORES, type StoreFixture } from "./helpers/store-fixtures.ts";

describe.each(BOTH_STORES)("mcpgw jobs list|show|cancel (%s)", (_label, setup) => {
  let fixture: StoreFixture | undefined;
  const ids = { queued: "", working: "", done: "" };

  async function cli(args: string[]): Promise<CliResult> {
    const result = await runCli(["--db", fixture!.url, ...args]);
    expect(result.stderr).not.toMatch(/^\s+at /m);
    return result;
  }

  beforeAll(async () => {
    fixture = await setup("cli_jobs");
    if (!fixture) return;
    await fixture.store.migrate();
    const now = Date.now();
    const job = (key: string, offset: number): NewJob => ({
      id: crypto.randomUUID(),
      owner: "alice",
      roles: ["dev"],
      origin: "rest",
      backend: "work",
      tool: "work",
      arguments: { key },
      idempotent: key === "working",
      ttlMs: 60_000,
      createdAt: now + offset,
    });
    for (const [i, key] of (["done", "working", "queued"] as const).entries()) ids[key] = (await fixture.store.jobs.create(job(key, i))).id;
    // Claim in creation order: "done" and "working" are taken, "queued" stays.
    await fixture.store.jobs.claim("test-worker", 2, now, now + 60_000);
    await fixture.store.jobs.setProgress(ids.working, "test-worker", { progress: 2, total: 5, message: "halfway" }, now);
    await fixture.store.jobs.finish(ids.done, "test-worker", { status: "completed", result: { content: [{ type: "text", text: "ok" }] } }, now + 5);
  });
  afterAll(async () => fixture?.cleanup());

  test("list shows every job newest first, filters by status, and prints JSON for scripts", async (context) => {
    if (!fixture) return context.skip();
    const table = await cli(["jobs", "list"]);
    expect(table.code).toBe(0);
    const rows = table.stdout.trim().split("\n");
    expect(rows[0]).toMatch(/^ID\s+STATUS\s+OWNER\s+BACKEND\/TOOL\s+CREATED\s+PROGRESS\s+ATTEMPTS$/);
    expect(rows.slice(1).map((row) => row.split(/\s+/)[0])).toEqual([ids.queued, ids.working, ids.done]);
    expect(rows.find((row) => row.startsWith(ids.working))).toMatch(/working\s+alice\s+work\/work\s+\S+\s+2\/5: halfway\s+1$/);
    const json = JSON.parse((await cli(["jobs", "list", "--status", "completed", "--json"])).stdout) as JobView[];
    expect(json.map((job) => [job.id, job.status, job.result])).toEqual([[ids.done, "completed", { content: [{ type: "text", text: "ok" }] }]]);
    expect((await cli(["jobs", "list", "--status", "cancelled"])).stdout).toBe("no cancelled jobs\n");
  });

  test("show prints one job; an unknown id is a clear failure", async (context) => {
    if (!fixture) return context.skip();
    const shown = await cli(["jobs", "show", ids.working]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^status\s+working$/m);
    expect(shown.stdout).toMatch(/^idempotent\s+yes/m);
    expect(shown.stdout).toMatch(/^progress\s+2\/5: halfway$/m);
    expect((JSON.parse((await cli(["jobs", "show", ids.done, "--json"])).stdout) as JobView).status).toBe("completed");
    const missing = await cli(["jobs", "show", "no-such-job"]);
    expect([missing.code, missing.stderr]).toEqual([1, expect.stringContaining('there is no job "no-such-job"')]);
  });

  test("cancel ends a queued job at once, asks a running one's gateway, and refuses an ended one", async (context) => {
    if (!fixture) return context.skip();
    const queued = await cli(["jobs", "cancel", ids.queued]);
    expect([queued.code, queued.stdout]).toEqual([0, `cancelled job ${ids.queued} (it had not started)\n`]);
    expect((await fixture.store.jobs.get(ids.queued))?.status).toBe("cancelled");
    const running = await cli(["jobs", "cancel", ids.working, "--by", "oncall-bob"]);
    expect(running.stdout).toMatch(/^cancelling job .*within a second/);
    expect((await fixture.store.jobs.get(ids.working))?.cancelRequested).toBe(true);
    const ended = await cli(["jobs", "cancel", ids.done]);
    expect([ended.code, ended.stderr]).toEqual([1, expect.stringContaining("already ended (completed): there is nothing to cancel")]);

    // Each cancel that changed something is audited, as the owner's cancel through the API is; the refused one is not.
    const tail = (await cli(["audit", "tail", "--json", "-n", "20"])).stdout.trim().split("\n");
    const cancels = tail
      .map(
        (line) =>
          JSON.parse(line) as {
            method: string;
            kind?: string;
            subject?: string;
            target?: string;
            requestId?: string;
            errorMessage?: string;
            client?: { name: string | null } | null;
          },
      )
      .filter((row) => row.method === "jobs/cancel");
    expect(cancels.map((row) => [row.requestId, row.kind, row.target, row.client?.name])).toEqual([
      [ids.queued, "event", "work", "mcpgw-cli"],
      [ids.working, "event", "work", "mcpgw-cli"],
    ]);
    expect(cancels[0]!.subject).toBeTruthy();
    expect(cancels[0]!.errorMessage).toMatch(/cancelled \(it had not started\)/);
    expect([cancels[1]!.subject, cancels[1]!.errorMessage]).toEqual([
      "oncall-bob",
      `job ${ids.working} of alice cancel requested (it was running) by oncall-bob`,
    ]);
    expect((await cli(["audit", "verify"])).code).toBe(0);
  });

  test("bad flags are usage errors (exit 2) that say what to do", async (context) => {
    if (!fixture) return context.skip();
    const status = await cli(["jobs", "list", "--status", "sleeping"]);
    expect([status.code, status.stderr]).toEqual([2, expect.stringMatching(/Allowed choices are queued, working/)]);
    const limit = await cli(["jobs", "list", "--limit", "0"]);
    expect([limit.code, limit.stderr]).toEqual([2, expect.stringContaining('--limit "0" is not a number from 1 to 10000')]);
  });
});
