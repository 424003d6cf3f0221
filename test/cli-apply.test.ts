import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { runCli } from "./helpers/cli.ts";
import { BOTH_STORES, type StoreFixture } from "./helpers/store-fixtures.ts";
import { tempDir } from "./helpers/temp-dir.ts";

const NO_STACK = /\n\s+at |\.ts:\d+:\d+/;

const DOCUMENT = `version: 1
roles:
  - name: analyst
    description: reads things
    permissions:
      - allow: github/get_*
      - allow: fs/read_file[path^="/srv/data/"]
      - deny: github/delete_*
  - name: admin
    permissions:
      - allow: "*"
bindings:
  - role: analyst
    subjects: [alice, bob]
  - role: admin
    subjects: [root]
backends:
  - name: github
    url: https://mcp.example.com/mcp
    headers:
      Authorization: Bearer \${GITHUB_TOKEN}
    timeout: 1m
    limits:
      maxConcurrency: 8
      maxBody: 4MiB
    idempotentTools: [get_*, list_*]
  - name: files
    command: npx -y "@modelcontextprotocol/server-filesystem" '/srv/my data'
    env:
      API_KEY: \${FILES_KEY}
limits:
  - subject: alice
    rate: 60/min
  - id: interns-github
    role: intern
    tool: github/*
    rate: 500/day
    burst: 20
`;

describe.each(BOTH_STORES)("mcpgw apply and export on %s", (_label, setup) => {
  let fixture: StoreFixture | undefined;
  let db = "";
  const dir = tempDir("mcpgw-apply-");
  const cli = (...args: string[]) => runCli([...args, "--db", db]);
  /** Writes a document into the test's folder; returns its path. */
  const file = (name: string, text: string) => {
    const path = join(dir.path, name);
    writeFileSync(path, text);
    return path;
  };
  const exported = async () => {
    const result = await cli("export");
    expect(result.code, result.stderr).toBe(0);
    return result.stdout;
  };
  const versions = () => fixture!.store.changes.versions();

  beforeAll(async () => {
    fixture = await setup("apply");
    db = fixture?.url ?? "";
    if (fixture) await fixture.store.migrate();
  });
  afterAll(async () => {
    await fixture?.cleanup();
    dir.remove();
  });

  test("apply, then export, then apply the export: nothing changes, not even the change counter", async (context) => {
    if (!db) return context.skip();
    const first = await cli("apply", "-f", file("first.yaml", DOCUMENT));
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/create\s+role\s+analyst\s+2 allow, 1 deny — reads things/);
    expect(first.stdout).toMatch(/create\s+binding\s+analyst → alice/);
    expect(first.stdout).toMatch(/create\s+backend\s+files\s+stdio: npx -y @modelcontextprotocol\/server-filesystem '\/srv\/my data'/);
    expect(first.stdout).toMatch(/create\s+limit\s+interns-github\s+role intern: 500\/day on github\/\* \(burst 20\)/);
    expect(first.stdout).toContain("applied 9 changes in one transaction");

    const again = await cli("apply", "-f", file("first.yaml", DOCUMENT));
    expect(again.stdout.trim()).toBe(`no changes: the database already matches ${join(dir.path, "first.yaml")}`);

    const text = await exported();
    expect(text).toContain("version: 1\n");
    expect(text).toContain("Authorization: Bearer ${GITHUB_TOKEN}");
    const before = await versions();
    const reapplied = await cli("apply", "-f", file("export.yaml", text));
    expect(reapplied.code, reapplied.stderr).toBe(0);
    expect(reapplied.stdout).toContain("no changes");
    expect(await versions()).toEqual(before);
    expect(await exported()).toBe(text);

    // What the other commands see is what the document said.
    const role = JSON.parse((await cli("role", "show", "analyst", "--json")).stdout);
    expect(role).toMatchObject({ allow: ["github/get_*", 'fs/read_file[path^="/srv/data/"]'], deny: ["github/delete_*"], subjects: ["alice", "bob"] });
    const backend = JSON.parse((await cli("backend", "show", "files", "--json")).stdout);
    expect(backend).toMatchObject({ command: ["npx", "-y", "@modelcontextprotocol/server-filesystem", "/srv/my data"], env: { API_KEY: "${FILES_KEY}" } });
  });

  test("apply creates, updates and deletes what the document's sections say, and leaves absent sections alone", async (context) => {
    if (!db) return context.skip();
    const changed = DOCUMENT.replace("description: reads things", "description: reads more")
      .replace("subjects: [alice, bob]", "subjects: [alice, carol]")
      .replace("timeout: 1m", "timeout: 2m")
      .replace(/ {2}- name: files\n[\s\S]*?(?=limits:)/, "")
      .replace("rate: 500/day", "rate: 1000/day");
    const before = await versions();
    const applied = await cli("apply", "-f", file("changed.yaml", changed), "--json");
    expect(applied.code, applied.stderr).toBe(0);
    expect(JSON.parse(applied.stdout)).toEqual({
      dryRun: false,
      changes: [
        { action: "update", kind: "role", name: "analyst", fields: ["description"] },
        { action: "create", kind: "binding", name: "analyst → carol", role: "analyst", subject: "carol" },
        { action: "delete", kind: "binding", name: "analyst → bob", role: "analyst", subject: "bob" },
        { action: "update", kind: "backend", name: "github", fields: ["timeout"] },
        { action: "delete", kind: "backend", name: "files" },
        { action: "update", kind: "limit", name: "interns-github", fields: ["rate"] },
      ],
    });
    const after = await versions();
    for (const topic of ["policy", "backends", "limits"] as const) expect(after[topic]).toBeGreaterThan(before[topic]);
    expect(JSON.parse((await cli("backend", "list", "--json")).stdout).map((b: { name: string }) => b.name)).toEqual(["github"]);
    expect(JSON.parse((await cli("role", "show", "analyst", "--json")).stdout)).toMatchObject({ description: "reads more", subjects: ["alice", "carol"] });

    // Only backends declared: roles, grants and limits stay; the backends section is made exact.
    const onlyBackends = await cli("apply", "-f", file("backends.yaml", "version: 1\nbackends: []\n"));
    expect(onlyBackends.stdout).toMatch(/delete\s+backend\s+github/);
    expect(onlyBackends.stdout).toContain("applied 1 change in one transaction");
    expect(JSON.parse((await cli("role", "list", "--json")).stdout)).toHaveLength(2);
    expect(JSON.parse((await cli("limit", "list", "--json")).stdout)).toHaveLength(2);
  });

  test("--dry-run prints the plan and changes nothing", async (context) => {
    if (!db) return context.skip();
    const before = await exported();
    const versionsBefore = await versions();
    const path = file("dry.yaml", "version: 1\nroles:\n  - name: newcomer\n    permissions:\n      - allow: fs/*\nbindings: []\n");
    const dry = await cli("apply", "-f", path, "--dry-run");
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/ACTION\s+KIND\s+NAME\s+DETAILS/);
    expect(dry.stdout).toMatch(/create\s+role\s+newcomer\s+1 allow, 0 deny/);
    expect(dry.stdout).toMatch(/delete\s+role\s+admin/);
    expect(dry.stdout).toMatch(/delete\s+binding\s+admin → root/);
    expect(dry.stdout).toContain("(dry run: nothing was changed)");
    const json = JSON.parse((await cli("apply", "-f", path, "--dry-run", "--json")).stdout);
    expect(json.dryRun).toBe(true);
    expect(json.changes.length).toBeGreaterThan(3);
    expect(await exported()).toBe(before);
    expect(await versions()).toEqual(versionsBefore);
  });

  test("pinning modes round-trip: export writes them, --dry-run shows a change of mode, apply sets it and keeps the pins", async (context) => {
    if (!db) return context.skip();
    const store = fixture!.store;
    expect((await cli("apply", "-f", file("base.yaml", DOCUMENT))).code).toBe(0);
    await store.pins.setPolicy("files", { driftMode: "warn", suspicious: "block" }, Date.now());
    await store.pins.observe("files", "tool", [{ name: "read_file", hash: "h1", definition: { name: "read_file" }, findings: [] }], true, Date.now());
    const text = await exported();
    expect(text).toContain("    pinning:\n      pinMode: tofu\n      driftMode: warn\n      suspicious: block\n");
    const path = file("pinning.yaml", text.replace("driftMode: warn", "driftMode: block"));
    const dry = await cli("apply", "-f", path, "--dry-run");
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/update\s+backend\s+files\s+changes pinning\.driftMode\n/);
    expect((await store.pins.policy("files")).driftMode).toBe("warn");
    const applied = await cli("apply", "-f", path);
    expect(applied.code, applied.stderr).toBe(0);
    expect(await store.pins.policy("files")).toMatchObject({ pinMode: "tofu", driftMode: "block", suspicious: "block" });
    expect((await store.pins.list("files")).map((record) => `${record.name} ${record.status}`)).toEqual(["read_file pinned"]);
    expect((await cli("apply", "-f", file("again.yaml", await exported()))).stdout).toContain("no changes");
    const bad = await cli("apply", "-f", file("bad-pinning.yaml", text.replace("driftMode: warn", "driftMode: strict")));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(
      /backends\[\d\]\.pinning\.driftMode: drift mode "strict" is not one of block, warn, off\n\s+→ write one of block, warn, off \(as mcpgw backend add --drift-mode takes\)/,
    );
  });

  test("mistakes in the document name the line, the column and the field, exit 2, and apply nothing", async (context) => {
    if (!db) return context.skip();
    const before = await exported();
    const deep = file(
      "deep.yaml",
      `version: 1
roles:
  - name: ok
    permissions:
      - allow: github/*
  - name: broken
    permissions:
      - allow: fs/*
      - deny: github
backends:
  - name: x
    command: srv
    timeout: soon
`,
    );
    const invalid = await cli("apply", "-f", deep);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain(`error: ${deep} is not valid (2 errors); nothing was applied`);
    expect(invalid.stderr).toContain(`${deep}:9:15: roles[1].permissions[1].deny: permission "github" is not BACKEND/NAME`);
    expect(invalid.stderr).toContain(`${deep}:13:14: backends[0].timeout: timeout: "soon" is not a duration`);
    expect(invalid.stderr).not.toMatch(NO_STACK);

    const syntax = file("syntax.yaml", "version: 1\nroles:\n  - name: a\n    permissions:\n      - allow: [github/*\n  - name: b\n");
    const broken = await cli("apply", "-f", syntax);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(new RegExp(`${syntax.replaceAll("/", "\\/")}:6:\\d+: YAML syntax: `));

    const unknownRole = file("ref.yaml", "version: 1\nbindings:\n  - role: admin\n    subjects: [root]\n  - role: ghost\n    subjects: [x]\n");
    const reference = await cli("apply", "-f", unknownRole);
    expect(reference.code).toBe(2);
    expect(reference.stderr).toContain(`${unknownRole}:5:11: bindings[1].role: there is no role "ghost"`);

    const missing = await cli("apply", "-f", join(dir.path, "nope.yaml"));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("no such file");
    expect(await exported()).toBe(before);
  });

  test("a change the database refuses part-way leaves it as it was", async (context) => {
    if (!fixture) return context.skip();
    // A trigger stands in for any constraint the plan cannot foresee; limits are written last.
    if (fixture.label === "sqlite") {
      await fixture.raw("CREATE TRIGGER refuse_limits BEFORE INSERT ON rate_limit_rules BEGIN SELECT RAISE(ABORT, 'limits are frozen'); END");
    } else {
      await fixture.raw("CREATE FUNCTION refuse_limits() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'limits are frozen'; END $$ LANGUAGE plpgsql");
      await fixture.raw("CREATE TRIGGER refuse_limits BEFORE INSERT ON rate_limit_rules FOR EACH ROW EXECUTE FUNCTION refuse_limits()");
    }
    try {
      const before = await exported();
      const versionsBefore = await versions();
      const refused = await cli("apply", "-f", file("refused.yaml", DOCUMENT.replace("subject: alice", "subject: dave")));
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain("the database refused a change");
      expect(refused.stderr).toContain("limits are frozen");
      expect(refused.stderr).toContain("nothing was applied");
      expect(refused.stderr).not.toMatch(NO_STACK);
      expect(await exported()).toBe(before);
      expect(await versions()).toEqual(versionsBefore);
    } finally {
      await fixture.raw(`DROP TRIGGER refuse_limits${fixture.label === "postgres" ? " ON rate_limit_rules" : ""}`);
    }
  });

  test("export --out writes the same document to an owner-only file", async (context) => {
    if (!db) return context.skip();
    const out = join(dir.path, "out.yaml");
    // An existing file readable by others is narrowed as it is overwritten.
    writeFileSync(out, "old\n", { mode: 0o644 });
    const result = await cli("export", "--out", out);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/^exported \d+ roles, \d+ grants, \d+ backends?, \d+ limits to /);
    expect(readFileSync(out, "utf8")).toBe(await exported());
    expect(statSync(out).mode & 0o777).toBe(0o600);
  });
});

test("apply and export --help show examples", async () => {
  const apply = await runCli(["apply", "--help"]);
  expect(apply.stdout).toContain("mcpgw apply -f mcpgw.yaml --dry-run");
  const exportHelp = await runCli(["export", "--help"]);
  expect(exportHelp.stdout).toContain("mcpgw export --out mcpgw.yaml");
});
