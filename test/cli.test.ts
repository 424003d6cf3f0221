import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { loadMigrations } from "../src/store/migrations.ts";
import { runCli } from "./helpers/cli.ts";
import { tempDir } from "./helpers/temp-dir.ts";

const dir = tempDir();
afterAll(() => dir.remove());
const db = (name: string) => `sqlite:${join(dir.path, name)}`;
const NO_STACK = /\n\s+at |\.ts:\d+:\d+/;

describe("mcpgw CLI", () => {
  test("--help lists the commands and exits 0", async () => {
    const result = await runCli(["--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Usage: mcpgw");
    expect(result.stdout).toMatch(/serve/);
    expect(result.stdout).toMatch(/migrate/);
  });

  test("--version prints the package version", async () => {
    const result = await runCli(["--version"]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  test("an unknown command is a usage error with a suggestion", async () => {
    const result = await runCli(["migrat"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown command 'migrat'");
    expect(result.stderr).toContain("migrate");
    expect(result.stderr).toContain("--help");
  });

  test("an unknown flag is a usage error naming the command's help", async () => {
    const result = await runCli(["migrate", "--frobnicate"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown option '--frobnicate'");
    expect(result.stderr).toContain("mcpgw migrate --help");
  });

  test("a bad --log-level is a usage error listing the choices", async () => {
    const result = await runCli(["migrate", "--log-level", "loud"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/loud.*choices|Allowed choices/s);
  });

  test("a malformed --db URL says what form to use, exit 2, no stack trace", async () => {
    for (const url of ["mysql://localhost/x", "postgres://", "sqlite:"]) {
      const result = await runCli(["migrate", "--db", url]);
      expect(result.code, url).toBe(2);
      expect(result.stderr, url).toMatch(/^error: database URL/);
      expect(result.stderr, url).toContain("sqlite:PATH");
      expect(result.stderr, url).not.toMatch(NO_STACK);
    }
  });

  test("a bad MCPGW_PORT is a usage error naming the variable", async () => {
    const result = await runCli(["serve", "--db", db("port.db")], { env: { MCPGW_PORT: "eighty" } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('MCPGW_PORT: "eighty" is not a TCP port');
  });

  test("an unreachable database exits 1 with advice and no stack trace", async () => {
    const result = await runCli(["migrate", "--db", "postgres://postgres@127.0.0.1:1/test"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("PostgreSQL at postgres://postgres@127.0.0.1:1/test is unreachable");
    expect(result.stderr).toContain("check that PostgreSQL is running");
    expect(result.stderr).not.toMatch(NO_STACK);
  });

  test("a password in the URL never reaches the output", async () => {
    const result = await runCli(["migrate", "--db", "postgres://postgres:hunter2@127.0.0.1:1/test"]);
    expect(result.code).toBe(1);
    expect(result.stderr).not.toContain("hunter2");
    expect(result.stderr).toContain("postgres:***@127.0.0.1:1");
  });

  test("--log-level debug adds the stack trace", async () => {
    const result = await runCli(["migrate", "--db", "postgres://postgres@127.0.0.1:1/test", "--log-level", "debug"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/StoreUnavailableError|\n\s+at /);
  });

  test("migrate applies once and then reports up to date; --json for scripts", async () => {
    const first = await runCli(["migrate", "--db", db("m.db")]);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain("applied 0001_initial");
    const second = await runCli(["migrate", "--db", db("m.db"), "--json"]);
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ applied: [], current: loadMigrations("sqlite").map((m) => m.name) });
  });

  test("MCPGW_DATABASE_URL is used when --db is absent, and --db wins over it", async () => {
    const fromEnv = await runCli(["migrate", "--json"], { env: { MCPGW_DATABASE_URL: db("env.db") } });
    expect(JSON.parse(fromEnv.stdout).database).toBe(db("env.db"));
    const fromFlag = await runCli(["migrate", "--json", "--db", db("flag.db")], { env: { MCPGW_DATABASE_URL: db("env.db") } });
    expect(JSON.parse(fromFlag.stdout).database).toBe(db("flag.db"));
  });

  describe("a migrations folder with a bad file", () => {
    function folderWith(files: Record<string, string>): string {
      const root = join(dir.path, `migrations-${crypto.randomUUID().slice(0, 6)}`);
      mkdirSync(join(root, "sqlite"), { recursive: true });
      mkdirSync(join(root, "postgres"), { recursive: true });
      for (const [name, sql] of Object.entries(files)) writeFileSync(join(root, "sqlite", name), sql);
      return root;
    }

    test("a misnamed file is named, with how to fix it, and nothing is applied", async () => {
      const root = folderWith({ "0001_ok.sql": "CREATE TABLE a (x INTEGER);", "2-oops.sql": "CREATE TABLE b (x INTEGER);" });
      const result = await runCli(["migrate", "--db", db("bad1.db")], { env: { MCPGW_MIGRATIONS_DIR: root } });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('migration file "2-oops.sql"');
      expect(result.stderr).toContain("NNNN_name.sql");
      expect(result.stderr).not.toMatch(NO_STACK);
    });

    test("invalid SQL names the migration, keeps none of it, and keeps earlier ones", async () => {
      const root = folderWith({ "0001_ok.sql": "CREATE TABLE a (x INTEGER);", "0002_broken.sql": "CREATE TABLE b (x INTEGER);\nCREATE TABLEE c;" });
      const result = await runCli(["migrate", "--db", db("bad2.db"), "--json"], { env: { MCPGW_MIGRATIONS_DIR: root } });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("migration 0002_broken failed");
      expect(result.stderr).toContain("nothing from this migration was applied");
      const { Database } = await import("bun:sqlite");
      const sqlite = new Database(join(dir.path, "bad2.db"));
      const tables = sqlite.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[];
      sqlite.close();
      expect(tables.map((t) => t.name)).toContain("a");
      expect(tables.map((t) => t.name)).not.toContain("b");
    });

    test("two files with one version number are refused", async () => {
      const root = folderWith({ "0001_a.sql": "SELECT 1;", "0001_b.sql": "SELECT 1;" });
      const result = await runCli(["migrate", "--db", db("bad3.db")], { env: { MCPGW_MIGRATIONS_DIR: root } });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("share version 0001");
    });
  });
});
