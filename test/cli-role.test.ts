import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { runCli } from "./helpers/cli.ts";
import { BOTH_STORES, type StoreFixture } from "./helpers/store-fixtures.ts";

const NO_STACK = /\n\s+at |\.ts:\d+:\d+/;

describe.each(BOTH_STORES)("mcpgw role on %s", (_label, setup) => {
  let fixture: StoreFixture | undefined;
  let db = "";
  const role = (...args: string[]) => runCli(["role", ...args, "--db", db]);

  beforeAll(async () => {
    fixture = await setup("roles");
    db = fixture?.url ?? "";
    // Commands use a database; they do not set one up (an operator runs migrate or init first).
    if (db) expect((await runCli(["migrate", "--db", db])).code).toBe(0);
  });
  afterAll(async () => fixture?.cleanup());

  test("create, grant, show, list (--json), revoke, delete", async (context) => {
    if (!db) return context.skip();
    const created = await role("create", "analyst", "--allow", "github/get_*", "--allow", 'fs/read_file[path^="/srv/data/"]', "--deny", "github/delete_*", "--description", "reads things");
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain('created role "analyst" (2 allow, 1 deny)');
    expect((await role("grant", "analyst", "alice")).code).toBe(0);

    const shown = await role("show", "analyst");
    expect(shown.stdout).toContain("allow  github/get_*");
    expect(shown.stdout).toContain('allow  fs/read_file[path^="/srv/data/"]');
    expect(shown.stdout).toContain("deny   github/delete_*");
    expect(shown.stdout).toContain("granted to: alice");

    const listed = JSON.parse((await role("list", "--json")).stdout);
    expect(listed).toEqual([
      expect.objectContaining({ name: "analyst", description: "reads things", allow: ["github/get_*", 'fs/read_file[path^="/srv/data/"]'], deny: ["github/delete_*"], subjects: ["alice"] }),
    ]);
    expect((await role("list")).stdout).toMatch(/ROLE\s+ALLOW\s+DENY\s+SUBJECTS/);

    expect((await role("revoke", "analyst", "alice")).code).toBe(0);
    expect(JSON.parse((await role("show", "analyst", "--json")).stdout).subjects).toEqual([]);
    expect((await role("delete", "analyst")).code).toBe(0);
    expect((await role("list")).stdout).toContain("no roles yet");
  });

  test("mistakes say what is wrong and what to do", async (context) => {
    if (!db) return context.skip();
    const badPattern = await role("create", "broken", "--allow", "github");
    expect(badPattern.code).toBe(2);
    expect(badPattern.stderr).toContain('permission "github" is not BACKEND/NAME');
    expect(badPattern.stderr).toContain("resource:BACKEND/URI-GLOB");
    const badCondition = await role("create", "broken", "--allow", 'fs/read[path^"x"]');
    expect(badCondition.code).toBe(2);
    expect(badCondition.stderr).toContain("cannot read the condition");
    expect((await role("list", "--json")).stdout.trim()).toBe("[]");

    const badName = await role("create", "no spaces");
    expect(badName.code).toBe(2);
    expect(badName.stderr).toContain("is not a valid role name");

    await role("create", "twice", "--allow", "*");
    const duplicate = await role("create", "twice", "--allow", "*");
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toContain('role "twice" already exists');

    const unknownGrant = await role("grant", "ghost", "alice");
    expect(unknownGrant.code).toBe(1);
    expect(unknownGrant.stderr).toContain('there is no role "ghost"');
    expect(unknownGrant.stderr).toContain("mcpgw role create ghost");

    const notGranted = await role("revoke", "twice", "bob");
    expect(notGranted.code).toBe(1);
    expect(notGranted.stderr).toContain('subject "bob" does not have role "twice"');

    for (const result of [badPattern, badCondition, badName, duplicate, unknownGrant, notGranted]) expect(result.stderr).not.toMatch(NO_STACK);
  });
});
