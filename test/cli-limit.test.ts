import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { runCli } from "./helpers/cli.ts";
import { BOTH_STORES, type StoreFixture } from "./helpers/store-fixtures.ts";

describe.each(BOTH_STORES)("mcpgw limit on %s", (_label, setup) => {
  let fixture: StoreFixture | undefined;
  let db = "";
  const limit = (...args: string[]) => runCli(["limit", ...args, "--db", db]);

  beforeAll(async () => {
    fixture = await setup("climits");
    db = fixture?.url ?? "";
    // Commands use a database; they do not set one up (an operator runs migrate or init first).
    if (db) expect((await runCli(["migrate", "--db", db])).code).toBe(0);
  });
  afterAll(async () => fixture?.cleanup());

  test("set, list (table and --json), remove", async (context) => {
    if (!db) return context.skip();
    const set = await limit("set", "--sub", "alice", "--rate", "60/min");
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/^lim_\w+: subject alice may make 60\/min calls \(burst 60; one call every 1s after it\)/);
    const quota = await limit("set", "--role", "intern", "--tool", "github/*", "--rate", "500/day", "--burst", "20");
    expect(quota.code, quota.stderr).toBe(0);
    await limit("set", "--global", "--rate", "200/s");

    const listed = JSON.parse((await limit("list", "--json")).stdout) as { id: string; scope: string; rate: string; burst: number; tool: string }[];
    expect(listed.map(({ scope, rate, burst, tool }) => ({ scope, rate, burst, tool }))).toEqual([
      { scope: "subject", rate: "60/min", burst: 60, tool: "*" },
      { scope: "role", rate: "500/day", burst: 20, tool: "github/*" },
      { scope: "global", rate: "200/s", burst: 200, tool: "*" },
    ]);
    expect((await limit("list")).stdout).toMatch(/ID\s+FOR\s+TOOL\s+RATE\s+BURST/);

    for (const rule of listed) expect((await limit("remove", rule.id)).code).toBe(0);
    expect((await limit("list")).stdout).toContain("no limits");
    const again = await limit("remove", listed[0]!.id);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`there is no limit rule "${listed[0]!.id}"`);
  });

  test("list --usage shows what each rule's buckets hold: spent calls are used until they refill", async (context) => {
    if (!db) return context.skip();
    const id = /^(lim_\w+):/.exec((await limit("set", "--sub", "carol", "--rate", "10/h")).stdout)![1]!;
    const role = /^(lim_\w+):/.exec((await limit("set", "--role", "auditor", "--rate", "5/min")).stdout)![1]!;
    // What a gateway does when carol calls: it leases from the shared bucket (here three calls' worth).
    await fixture!.store.limits.lease(`${id}:carol`, { intervalMs: 360_000, burst: 10 }, 3, Date.now());
    const usage = JSON.parse((await limit("list", "--usage", "--json")).stdout) as Record<string, unknown>[];
    expect(usage.find((row) => row.id === id)).toMatchObject({ scope: "subject", subject: "carol", key: "carol", used: 3, remaining: 7 });
    expect(Date.parse(usage.find((row) => row.id === id)!.resetsAt as string)).toBeGreaterThan(Date.now() + 17 * 60_000);
    expect(usage.find((row) => row.id === role)).toMatchObject({ scope: "role", role: "auditor", key: "*", used: null, remaining: null, resetsAt: null });
    const table = (await limit("list", "--usage")).stdout;
    expect(table).toMatch(/ID\s+FOR\s+TOOL\s+RATE\s+BURST\s+KEY\s+USED\s+LEFT\s+FULL AGAIN/);
    expect(table).toMatch(new RegExp(`${id}\\s+subject carol\\s+\\*\\s+10/h\\s+10\\s+carol\\s+3\\s+7\\s+20`));
    expect(table).toMatch(new RegExp(`${role}\\s+each subject with role auditor\\s+\\*\\s+5/min\\s+5\\s+\\*\\s+-\\s+-\\s+now`));
    for (const rule of [id, role]) expect((await limit("remove", rule)).code).toBe(0);
  });

  test("set again for the same whom, tool and period replaces the rule (same id) instead of adding one; update changes rate and burst", async (context) => {
    if (!db) return context.skip();
    const rules = async () =>
      JSON.parse((await limit("list", "--json")).stdout) as { id: string; scope: string; subject?: string; rate: string; burst: number; tool: string }[];
    const first = await limit("set", "--sub", "bob", "--rate", "60/min");
    const id = /^(lim_\w+):/.exec(first.stdout)![1]!;
    const again = await limit("set", "--sub", "bob", "--rate", "100/min", "--burst", "10");
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`^${id}: subject bob may make 100/min calls \\(burst 10;`));
    expect(again.stderr).toContain(`replaced ${id} (60/min, burst 60): one rule per subject/role/global, tool and period`);
    // A per-day quota and a rule for one tool are rules of their own.
    expect((await limit("set", "--sub", "bob", "--rate", "1000/day")).stderr).not.toContain("replaced");
    expect((await limit("set", "--sub", "bob", "--tool", "github/*", "--rate", "100/min")).stderr).not.toContain("replaced");
    expect((await rules()).map(({ subject, rate, burst, tool }) => ({ subject, rate, burst, tool }))).toEqual([
      { subject: "bob", rate: "100/min", burst: 10, tool: "*" },
      { subject: "bob", rate: "1000/day", burst: 1000, tool: "*" },
      { subject: "bob", rate: "100/min", burst: 100, tool: "github/*" },
    ]);

    const updated = await limit("update", id, "--rate", "2/s");
    expect(updated.code, updated.stderr).toBe(0);
    expect(updated.stdout).toMatch(new RegExp(`^${id}: subject bob may make 2/s calls \\(burst 10;.*\\(running gateways apply it within a second\\)`));
    const quota = (await rules()).find((rule) => rule.rate === "1000/day")!;
    // A burst that was the whole rate (the default) follows the new rate.
    expect((await limit("update", quota.id, "--rate", "500/day")).stdout).toContain("may make 500/day calls (burst 500;");
    expect((await limit("update", quota.id, "--burst", "50")).stdout).toContain("may make 500/day calls (burst 50;");
    const clash = await limit("update", quota.id, "--rate", "5/s");
    expect(clash.code).toBe(1);
    expect(clash.stderr).toContain(`rule ${id} already limits the same callers over the same period`);
    const unknown = await limit("update", "lim_nothing", "--rate", "1/s");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('there is no limit rule "lim_nothing"');
    const nothing = await limit("update", id);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain("nothing to change");
    for (const rule of await rules()) expect((await limit("remove", rule.id)).code).toBe(0);
  });

  test.each([
    [["set", "--rate", "10/min"], "exactly one of --sub SUBJECT, --role ROLE or --global"],
    [["set", "--sub", "a", "--global", "--rate", "10/min"], "exactly one of"],
    [["set", "--sub", "a"], "--rate is required"],
    [["set", "--sub", "a", "--rate", "10/week"], '--rate "10/week" is not a rate'],
    [["set", "--sub", "a", "--rate", "0/min"], "is not a rate"],
    [["set", "--sub", "a", "--rate", "10/min", "--burst", "-1"], '--burst "-1" is not a whole number'],
    [["set", "--sub", "a", "--rate", "10/min", "--tool", "github"], '--tool "github" is not BACKEND/TOOL'],
    [["update", "lim_x", "--rate", "10/week"], '--rate "10/week" is not a rate'],
    [["update", "lim_x", "--burst", "0"], '--burst "0" is not a whole number'],
  ])("limit %j is a usage error: %s", async (args, message) => {
    // Without Postgres (outside CI) there is no database to point at; postgresAvailable() has said so loudly.
    if (!db) return;
    const result = await limit(...args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
