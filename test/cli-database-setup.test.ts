import { cpSync, existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { openStore } from "../src/store/open-store.ts";
import { REPO_ROOT, cleanEnv, runCli } from "./helpers/cli.ts";
import { BUN } from "./helpers/gateway.ts";
import { startProcess } from "./helpers/process.ts";
import { type IsolatedSchema, isolatedSchema, postgresAvailable } from "./helpers/postgres.ts";
import { tempDir } from "./helpers/temp-dir.ts";

/**
 * Only what sets a database up creates or migrates one (issue 16, item 2): `migrate`, `init`, a
 * real `apply`, and `serve` on SQLite. Every other command opens what exists and checks that its
 * schema is the one this binary knows, or fails with exit 1 saying what to do.
 */
const folders: { remove(): void }[] = [];
function folder(): string {
  const dir = tempDir("mcpgw-dbsetup-");
  folders.push(dir);
  return dir.path;
}
afterAll(() => folders.forEach((dir) => dir.remove()));

/** A migrations root holding only the first `count` migrations of each dialect, plus `extra` files. */
function migrationsRoot(count: number, extra: Record<string, string> = {}): string {
  const root = folder();
  for (const dialect of ["sqlite", "postgres"]) {
    mkdirSync(join(root, dialect));
    const names = readdirSync(join(REPO_ROOT, "migrations", dialect))
      .filter((name) => name.endsWith(".sql"))
      .sort()
      .slice(0, count);
    for (const name of names) cpSync(join(REPO_ROOT, "migrations", dialect, name), join(root, dialect, name));
    for (const [name, sql] of Object.entries(extra)) writeFileSync(join(root, dialect, name), sql);
  }
  return root;
}
const DOCUMENT = "version: 1\nroles:\n  - name: dev\n    permissions:\n      - allow: lab/*\n";
const FUTURE = { "0999_from_the_future.sql": "CREATE TABLE from_the_future (id INTEGER);\n" };

describe("commands that use a database neither create nor migrate it", () => {
  test("in an empty folder, read-only commands and a dry run fail with 'no mcpgw database' and leave no file", async () => {
    const dir = folder();
    writeFileSync(join(dir, "mcpgw.yaml"), DOCUMENT);
    for (const args of [
      ["token", "list"],
      ["role", "list"],
      ["backend", "list"],
      ["audit", "tail", "-n", "1"],
      ["apply", "-f", "mcpgw.yaml", "--dry-run"],
    ]) {
      const result = await runCli(args, { cwd: dir });
      expect(result.code, `${args.join(" ")}: ${result.stderr}`).toBe(1);
      expect(result.stderr).toContain("no mcpgw database at sqlite:mcpgw.db");
      expect(result.stderr).toContain("mcpgw init");
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
    expect(readdirSync(dir)).toEqual(["mcpgw.yaml"]);
  });

  test("a --db in a folder that does not exist creates no folder", async () => {
    const dir = folder();
    const result = await runCli(["--db", `sqlite:${join(dir, "nonexistent/dir/x.db")}`, "role", "list"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`no mcpgw database at sqlite:${join(dir, "nonexistent/dir/x.db")}`);
    expect(existsSync(join(dir, "nonexistent"))).toBe(false);
  });

  test("a schema older than the binary is reported, not migrated; migrate brings it up to date", async () => {
    const dir = folder();
    const db = `sqlite:${join(dir, "old.db")}`;
    expect((await runCli(["--db", db, "migrate"], { env: { MCPGW_MIGRATIONS_DIR: migrationsRoot(4) } })).code).toBe(0);
    const refused = await runCli(["--db", db, "role", "list"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/the schema of sqlite:\S+old\.db is older than this binary \(\d+ migrations? not applied: 0005_/);
    expect(refused.stderr).toContain("run mcpgw migrate");
    const store = openStore(db);
    try {
      expect((await store.migrationStatus()).applied).toHaveLength(4);
    } finally {
      await store.close();
    }
    expect((await runCli(["--db", db, "migrate"])).code).toBe(0);
    expect((await runCli(["--db", db, "role", "list"])).code).toBe(0);
  });

  test("a schema newer than the binary is reported: the command does not run on it", async () => {
    const dir = folder();
    const db = `sqlite:${join(dir, "new.db")}`;
    expect((await runCli(["--db", db, "migrate"], { env: { MCPGW_MIGRATIONS_DIR: migrationsRoot(99, FUTURE) } })).code).toBe(0);
    const refused = await runCli(["--db", db, "token", "issue", "--sub", "alice", "--role", "dev"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("is newer than this binary (migrations it does not know: 0999_from_the_future)");
    expect(refused.stdout).toBe("");
  });

  test("serve with MCPGW_MIGRATE=off on a missing SQLite file says so and creates nothing", async () => {
    const dir = folder();
    const result = await runCli(["--db", `sqlite:${join(dir, "absent.db")}`, "serve", "--port", "0"], { env: { MCPGW_MIGRATE: "off" } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("no mcpgw database at sqlite:");
    expect(readdirSync(dir)).toEqual([]);
  });

  test("a real apply sets a database up: created, migrated, applied", async () => {
    const dir = folder();
    writeFileSync(join(dir, "mcpgw.yaml"), DOCUMENT);
    const applied = await runCli(["apply", "-f", "mcpgw.yaml"], { cwd: dir });
    expect(applied.code, applied.stderr).toBe(0);
    const roles = await runCli(["role", "list", "--json"], { cwd: dir });
    expect(JSON.parse(roles.stdout)).toEqual([expect.objectContaining({ name: "dev" })]);
  });
});

describe("on PostgreSQL, a newer CLI does not migrate a production schema on a plain command", () => {
  let schema: IsolatedSchema | undefined;
  beforeAll(async () => {
    if (!(await postgresAvailable())) {
      if (process.env.CI === "true") throw new Error("CI needs PostgreSQL at 127.0.0.1:5432");
      return;
    }
    schema = await isolatedSchema("dbsetup");
  });
  afterAll(async () => schema?.drop());

  test("an empty schema is 'no mcpgw database'; an older one is reported and left as it was", async (context) => {
    if (!schema) return context.skip();
    const empty = await runCli(["--db", schema.url, "role", "list"]);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain("no mcpgw database at");
    expect((await runCli(["--db", schema.url, "migrate"], { env: { MCPGW_MIGRATIONS_DIR: migrationsRoot(3) } })).code).toBe(0);
    const older = await runCli(["--db", schema.url, "role", "list"]);
    expect(older.code).toBe(1);
    expect(older.stderr).toContain("is older than this binary");
    const store = openStore(schema.url);
    try {
      expect((await store.migrationStatus()).applied).toHaveLength(3);
    } finally {
      await store.close();
    }
  });

  test("serve checks the schema and stops when it is not current; MCPGW_MIGRATE=on migrates at start", async (context) => {
    if (!schema) return context.skip();
    const stopped = await runCli(["--db", schema.url, "serve", "--port", "0"]);
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toContain("is older than this binary");
    expect(stopped.stderr).toContain("run mcpgw migrate");
    const bad = await runCli(["--db", schema.url, "serve", "--port", "0"], { env: { MCPGW_MIGRATE: "sometimes" } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('MCPGW_MIGRATE: "sometimes" is not a migrate mode');
    const gateway = await startProcess([BUN, join(REPO_ROOT, "cli/main.ts"), "--db", schema.url, "serve", "--port", "0"], /mcpgw listening/, {
      ...cleanEnv(),
      MCPGW_MIGRATE: "on",
      MCPGW_LOG_LEVEL: "info",
    });
    try {
      expect(gateway.output()).toContain("applied migrations");
    } finally {
      gateway.kill();
      await gateway.exited;
    }
    expect((await runCli(["--db", schema.url, "role", "list"])).code).toBe(0);
  });

  test("a schema a newer mcpgw migrated: serve starts on it with a warning (rolling upgrades); other commands refuse it", async (context) => {
    if (!schema) return context.skip();
    expect((await runCli(["--db", schema.url, "migrate"], { env: { MCPGW_MIGRATIONS_DIR: migrationsRoot(99, FUTURE) } })).code).toBe(0);
    expect((await runCli(["--db", schema.url, "role", "list"])).stderr).toContain("is newer than this binary");
    const gateway = await startProcess([BUN, join(REPO_ROOT, "cli/main.ts"), "--db", schema.url, "serve", "--port", "0"], /mcpgw listening/, {
      ...cleanEnv(),
      MCPGW_LOG_LEVEL: "info",
    });
    try {
      expect(gateway.output()).toContain("a newer mcpgw migrated this database");
      expect(gateway.output()).toContain("0999_from_the_future");
    } finally {
      gateway.kill();
      await gateway.exited;
    }
  });
});
