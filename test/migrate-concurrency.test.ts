import { Database } from "bun:sqlite";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { loadMigrations } from "../src/store/migrations.ts";
import { runCli } from "./helpers/cli.ts";
import { isolatedSchema, postgresAvailable, queryPostgres } from "./helpers/postgres.ts";
import { tempDir } from "./helpers/temp-dir.ts";

const dir = tempDir();
afterAll(() => dir.remove());

/** Starts `mcpgw migrate` twice at the same moment and returns both results. */
function migrateTwiceAtOnce(url: string) {
  return Promise.all([runCli(["migrate", "--db", url, "--json"]), runCli(["migrate", "--db", url, "--json"])]);
}

describe("two mcpgw migrate processes at the same moment", () => {
  test("on Postgres: both exit 0 and each migration is applied exactly once", async (context) => {
    if (!(await postgresAvailable())) return context.skip();
    const schema = await isolatedSchema("race");
    try {
      const results = await migrateTwiceAtOnce(schema.url);
      for (const result of results) expect(result.code, result.stderr).toBe(0);
      const applied = results.flatMap((r) => JSON.parse(r.stdout).applied as string[]);
      const expected = loadMigrations("postgres").map((m) => m.name);
      expect(applied.sort()).toEqual(expected.sort());
      const rows = await queryPostgres<{ version: number; n: number }>(
        schema.schema,
        "SELECT version, count(*)::int AS n FROM schema_migrations GROUP BY version",
      );
      expect(rows).toHaveLength(expected.length);
      for (const row of rows) expect(row.n).toBe(1);
    } finally {
      await schema.drop();
    }
  });

  test("on SQLite: both exit 0 and each migration is applied exactly once", async () => {
    const url = `sqlite:${join(dir.path, "race.db")}`;
    const results = await migrateTwiceAtOnce(url);
    for (const result of results) expect(result.code, result.stderr).toBe(0);
    // Each migration is its own transaction, so the two may share the work in either order (one applying the
    // first few, the other the rest): what must hold is that each one was applied once, by one of them.
    const applied = results.flatMap((r) => JSON.parse(r.stdout).applied as string[]);
    const expected = loadMigrations("sqlite").map((m) => m.name);
    expect(applied.sort()).toEqual(expected.sort());
    const db = new Database(join(dir.path, "race.db"), { readonly: true });
    try {
      const rows = db.query<{ version: number; n: number }, []>("SELECT version, count(*) AS n FROM schema_migrations GROUP BY version").all();
      expect(rows).toHaveLength(expected.length);
      for (const row of rows) expect(row.n).toBe(1);
    } finally {
      db.close();
    }
  });
});
