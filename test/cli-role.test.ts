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
    const created = await role(
      "create",
      "analyst",
      "--allow",
      "github/get_*",
      "--allow",
      'fs/read_file[path^="/srv/data/"]',
      "--deny",
      "github/delete_*",
      "--description",
      "reads things",
    );
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
      expect.objectContaining({
        name: "analyst",
        description: "reads things",
        allow: ["github/get_*", 'fs/read_file[path^="/srv/data/"]'],
        deny: ["github/delete_*"],
        subjects: ["alice"],
      }),
    ]);
    expect((await role("list")).stdout).toMatch(/ROLE\s+ALLOW\s+DENY\s+SUBJECTS/);

    expect((await role("revoke", "analyst", "alice")).code).toBe(0);
    expect(JSON.parse((await role("show", "analyst", "--json")).stdout).subjects).toEqual([]);
    expect((await role("delete", "analyst", "--yes")).code).toBe(0);
    expect((await role("list")).stdout).toContain("no roles yet");
  });

  test("update adds and removes rules and changes the description in place; grants stay", async (context) => {
    if (!db) return context.skip();
    expect((await role("create", "editor", "--allow", "github/*", "--deny", "github/delete_*", "--description", "first")).code).toBe(0);
    expect((await role("grant", "editor", "alice")).code).toBe(0);

    const updated = await role(
      "update",
      "editor",
      "--remove-rule",
      "github/*",
      "--allow",
      "github/get_*",
      "--allow",
      'fs/read[path^="/srv/"]',
      "--description",
      "second",
    );
    expect(updated.code, updated.stderr).toBe(0);
    expect(updated.stdout).toContain('updated role "editor"');
    expect(JSON.parse((await role("show", "editor", "--json")).stdout)).toMatchObject({
      description: "second",
      allow: ["github/get_*", 'fs/read[path^="/srv/"]'],
      deny: ["github/delete_*"],
      subjects: ["alice"],
    });

    const unknownRule = await role("update", "editor", "--remove-rule", "jira/*");
    expect(unknownRule.code).toBe(1);
    expect(unknownRule.stderr).toContain('role "editor" has no rule "jira/*"');
    expect(unknownRule.stderr).toContain("mcpgw role show editor");
    const unknownRole = await role("update", "ghost", "--allow", "x/y");
    expect(unknownRole.code).toBe(1);
    expect(unknownRole.stderr).toContain('there is no role "ghost"');
    const nothing = await role("update", "editor");
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain("nothing to change");
    const malformed = await role("update", "editor", "--remove-rule", "github");
    expect(malformed.code).toBe(2);
    expect(JSON.parse((await role("show", "editor", "--json")).stdout).allow).toEqual(["github/get_*", 'fs/read[path^="/srv/"]']);
    for (const result of [unknownRule, unknownRole, nothing, malformed]) expect(result.stderr).not.toMatch(NO_STACK);
    expect((await role("delete", "editor", "--yes")).code).toBe(0);
  });

  test("a pattern naming a backend that is not registered is saved with a warning (stderr, exit 0)", async (context) => {
    if (!db) return context.skip();
    expect((await runCli(["backend", "add", "github", "--command", "true", "--no-test", "--db", db])).code).toBe(0);
    const created = await role("create", "typo", "--allow", "gihtub/*", "--allow", "github/*", "--allow", "*", "--deny", "jira*/delete_*");
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toContain(
      'warning: allow gihtub/* names backend "gihtub", which is not registered: it matches nothing until one is (mcpgw backend list shows the names)',
    );
    expect(created.stderr).toContain("warning: deny jira*/delete_* matches no registered backend");
    expect(created.stderr).not.toContain("allow github/*");
    expect(created.stderr).not.toMatch(/warning: allow \* /);

    const updated = await role("update", "typo", "--remove-rule", "gihtub/*", "--allow", "jria/search");
    expect(updated.code, updated.stderr).toBe(0);
    expect(updated.stderr).toContain('warning: allow jria/search names backend "jria", which is not registered');
    expect(updated.stderr).not.toContain("gihtub");
    expect((await role("delete", "typo", "--yes")).code).toBe(0);
    expect((await runCli(["backend", "remove", "github", "--yes", "--db", db])).code).toBe(0);
  });

  test("delete asks first: without a terminal and without --yes it refuses (exit 2), naming the grants and tokens that go with it", async (context) => {
    if (!db) return context.skip();
    expect((await role("create", "doomed", "--allow", "*")).code).toBe(0);
    expect((await role("grant", "doomed", "alice")).code).toBe(0);
    expect((await role("grant", "doomed", "bob")).code).toBe(0);
    expect((await runCli(["key", "rotate", "--db", db])).code).toBe(0);
    expect((await runCli(["token", "issue", "--sub", "carol", "--role", "doomed", "--db", db])).code).toBe(0);

    const refused = await role("delete", "doomed");
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('error: delete role "doomed" and its 1 rule needs confirmation, and stdin is not a terminal');
    expect(refused.stderr).toContain("revoke its grants to alice, bob");
    expect(refused.stderr).toContain('leave 1 live token carrying "doomed" with nothing from it (carol)');
    expect(refused.stderr).toContain("→ pass --yes to go ahead without asking: mcpgw role delete doomed --yes");
    expect((await role("show", "doomed")).code).toBe(0);

    const deleted = await role("delete", "doomed", "--yes");
    expect(deleted).toMatchObject({ code: 0, stdout: 'deleted role "doomed" with its rules and its grants to alice, bob\n' });
    expect((await role("show", "doomed")).code).toBe(1);
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
