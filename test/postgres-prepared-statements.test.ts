import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parseDatabaseUrl } from "../src/store/database-url.ts";
import { PostgresDriver, type PostgresDriverOptions } from "../src/store/postgres-driver.ts";
import { type IsolatedSchema, isolatedSchema, postgresAvailable } from "./helpers/postgres.ts";

/**
 * Statements with parameters go to PostgreSQL as named prepared statements (parsed and planned once
 * per connection), unless the URL says ?prepare=off; a bounded number of texts get names.
 */
let schema: IsolatedSchema | undefined;
beforeAll(async () => {
  if (await postgresAvailable()) schema = await isolatedSchema("prep");
});
afterAll(() => schema?.drop());

function driver(options: Partial<PostgresDriverOptions> = {}): PostgresDriver {
  const target = parseDatabaseUrl(schema!.url);
  if (target.kind !== "postgres") throw new Error("not a PostgreSQL URL");
  return new PostgresDriver({ connectionString: target.connectionString, schema: schema!.schema, poolSize: 1, ...options });
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
  test("a statement with parameters is prepared once per connection and reused", async (context) => {
    if (!schema) return context.skip();
    const db = driver();
    try {
      const prepared = await preparedAfter(db, ["SELECT $1::int AS n", "SELECT $1::int + 0 AS n"]);
      expect(prepared).toEqual([
        { name: "mcpgw_0", statement: "SELECT $1::int AS n" },
        { name: "mcpgw_1", statement: "SELECT $1::int + 0 AS n" },
      ]);
      // Outside a transaction, on the pool, the same names are used (the pool's one connection already holds them).
      expect(await db.query<{ n: number }>("SELECT $1::int AS n", [7])).toEqual([{ n: 7 }]);
    } finally {
      await db.close();
    }
  });

  test("texts past the bound run unnamed, and still answer", async (context) => {
    if (!schema) return context.skip();
    const db = driver({ maxNamedStatements: 2 });
    try {
      const prepared = await preparedAfter(db, ["SELECT $1::int AS n", "SELECT $1::int + 0 AS n", "SELECT $1::int - 0 AS n"]);
      expect(prepared.map((p) => p.statement)).toEqual(["SELECT $1::int AS n", "SELECT $1::int + 0 AS n"]);
    } finally {
      await db.close();
    }
  });

  test("?prepare=off sends every statement unnamed", async (context) => {
    if (!schema) return context.skip();
    const target = parseDatabaseUrl(`${schema.url}&prepare=off`);
    expect(target).toMatchObject({ kind: "postgres", prepare: false });
    const db = driver({ prepare: false });
    try {
      expect(await preparedAfter(db, ["SELECT $1::int AS n"])).toEqual([]);
    } finally {
      await db.close();
    }
  });
});
