import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { StoreUnavailableError } from "../src/errors.ts";
import type { Logger } from "../src/log/logger.ts";
import { parseDatabaseUrl } from "../src/store/database-url.ts";
import { PostgresDriver, type PostgresDriverOptions } from "../src/store/postgres-driver.ts";
import { type IsolatedSchema, isolatedSchema, postgresAvailable } from "./helpers/postgres.ts";

/**
 * The PostgreSQL driver (Bun.SQL): statements with parameters go as named prepared statements
 * (parsed and planned once per connection) unless the URL says ?prepare=off; int8 values come back
 * as numbers; SQL errors keep their SQLSTATE; lost connections are said and replaced.
 */
let schema: IsolatedSchema | undefined;
beforeAll(async () => {
  if (!(await postgresAvailable())) return;
  schema = await isolatedSchema("prep");
  await closing(driver(), (db) => db.withMigrationLock(async () => undefined)); // creates the schema
});
afterAll(() => schema?.drop());

function driver(options: Partial<PostgresDriverOptions> = {}): PostgresDriver {
  const target = parseDatabaseUrl(schema!.url);
  if (target.kind !== "postgres") throw new Error("not a PostgreSQL URL");
  return new PostgresDriver({ connectionString: target.connectionString, schema: schema!.schema, poolSize: 1, ...options });
}

/** Runs `fn` with `db`, and closes `db` afterwards whatever happens. */
async function closing<T>(db: PostgresDriver, fn: (db: PostgresDriver) => Promise<T>): Promise<T> {
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

/** What the driver's one connection holds prepared, after running `texts` (each with one parameter) twice. */
async function preparedAfter(db: PostgresDriver, texts: string[]): Promise<{ name: string; statement: string }[]> {
  return db.transaction(async (tx) => {
    for (let round = 0; round < 2; round++) {
      for (const [i, text] of texts.entries()) expect(await tx.query<{ n: number }>(text, [i])).toEqual([{ n: i }]);
    }
    return tx.query<{ name: string; statement: string }>("SELECT name, statement FROM pg_prepared_statements ORDER BY name");
  });
}

describe("PostgreSQL statements", () => {
  test("int8 values (epoch milliseconds, counts) come back as numbers, other values as they are", async (context) => {
    if (!schema) return context.skip();
    await closing(driver(), async (db) => {
      const rows = await db.query<Record<string, unknown>>(
        "SELECT $1::bigint AS at, COUNT(*) AS n, $2::text AS digits, $3::int AS small, NULL::bigint AS missing, $4::boolean AS flag",
        [1_796_515_945_993, "0042", 7, true],
      );
      expect(rows).toEqual([{ at: 1_796_515_945_993, n: 1, digits: "0042", small: 7, missing: null, flag: true }]);
      // A script of several statements (a migration) runs whole.
      await db.transaction((tx) => db.runScript(tx, "CREATE TABLE script_a (x int); CREATE TABLE script_b (y bigint); INSERT INTO script_b VALUES (5)"));
      expect(await db.query("SELECT y FROM script_b WHERE y = $1", [5])).toEqual([{ y: 5 }]);
    });
  });

  test("a SQL error keeps its SQLSTATE as code; a server that is not there is unavailable", async (context) => {
    if (!schema) return context.skip();
    await closing(driver(), async (db) => {
      await db.execute("CREATE TABLE unique_x (x int PRIMARY KEY)");
      await db.execute("INSERT INTO unique_x VALUES ($1)", [1]);
      await expect(db.execute("INSERT INTO unique_x VALUES ($1)", [1])).rejects.toMatchObject({ code: "23505", constraint: "unique_x_pkey" });
      await expect(db.transaction((tx) => tx.execute("INSERT INTO unique_x VALUES ($1)", [1]))).rejects.toMatchObject({ code: "23505" });
    });
    const nowhere = new PostgresDriver({ connectionString: "postgres://postgres@127.0.0.1:1/test", poolSize: 1 });
    await closing(nowhere, (db) => expect(db.ping()).rejects.toBeInstanceOf(StoreUnavailableError));
  });

  test("a statement with parameters is prepared once per connection and reused", async (context) => {
    if (!schema) return context.skip();
    await closing(driver(), async (db) => {
      const prepared = await preparedAfter(db, ["SELECT $1::int AS n", "SELECT $1::int + 0 AS n"]);
      expect(prepared.map((p) => p.statement).sort()).toEqual(["SELECT $1::int + 0 AS n", "SELECT $1::int AS n"]);
      expect(new Set(prepared.map((p) => p.name)).size).toBe(2);
      // Outside a transaction, on the pool, the same statement answers from what its connection prepared.
      expect(await db.query<{ n: number }>("SELECT $1::int AS n", [7])).toEqual([{ n: 7 }]);
    });
  });

  test("?prepare=off sends every statement unnamed", async (context) => {
    if (!schema) return context.skip();
    const target = parseDatabaseUrl(`${schema.url}&prepare=off`);
    expect(target).toMatchObject({ kind: "postgres", prepare: false });
    await closing(driver({ prepare: false }), async (db) => {
      expect(await preparedAfter(db, ["SELECT $1::int AS n"])).toEqual([]);
    });
  });

  test("a connection the server ends is logged as lost, and the next statement runs on a new one", async (context) => {
    if (!schema) return context.skip();
    const warnings: string[] = [];
    const logger = { warn: (_fields: unknown, message: string) => warnings.push(message) } as unknown as Logger;
    await closing(driver({ logger }), async (db) => {
      const pid = (await db.query<{ pid: number }>("SELECT pg_backend_pid() AS pid"))[0]!.pid;
      await closing(driver(), (admin) => admin.query("SELECT pg_terminate_backend($1)", [pid]));
      for (let i = 0; i < 50 && warnings.length === 0; i++) await Bun.sleep(20);
      expect(warnings).toEqual(["PostgreSQL connection lost; the pool opens another on next use"]);
      const next = (await db.query<{ pid: number }>("SELECT pg_backend_pid() AS pid"))[0]!.pid;
      expect(next).not.toBe(pid);
    });
    // Closing the pool is not a loss.
    expect(warnings).toHaveLength(1);
  });
});
