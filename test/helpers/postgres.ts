import pg from "pg";
import { readEnv } from "../../src/config/env.ts";

export const DEFAULT_TEST_PG_URL = "postgres://postgres@127.0.0.1:5432/test";

/** The server the Postgres suites use: MCPGW_TEST_PG_URL or the development default. */
export function testPostgresUrl(): string {
  return readEnv().testPostgresUrl ?? DEFAULT_TEST_PG_URL;
}

let reachable: Promise<boolean> | undefined;

/**
 * Whether the test Postgres answers. Under CI a missing Postgres is an error (the run must fail);
 * elsewhere the Postgres suites are skipped, and say so loudly.
 */
export function postgresAvailable(): Promise<boolean> {
  reachable ??= (async () => {
    const client = new pg.Client({ connectionString: testPostgresUrl(), connectionTimeoutMillis: 3_000 });
    try {
      await client.connect();
      await client.query("SELECT 1");
      return true;
    } catch (err) {
      if (process.env.CI) throw new Error(`PostgreSQL at ${testPostgresUrl()} is required under CI and is unreachable: ${String(err)}`);
      console.warn(`\n!!! PostgreSQL at ${testPostgresUrl()} is unreachable: the Postgres suites are SKIPPED (${String(err)})\n`);
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return reachable;
}

/** A schema of its own for one test run, so parallel files and reruns never collide. */
export interface IsolatedSchema {
  schema: string;
  /** The database URL naming the schema (?schema=…), for stores, the CLI and the binary. */
  url: string;
  drop(): Promise<void>;
}

export async function isolatedSchema(prefix = "t"): Promise<IsolatedSchema> {
  const schema = `${prefix}_${Date.now().toString(36)}_${crypto.randomUUID().slice(0, 8)}`;
  const base = new URL(testPostgresUrl());
  base.searchParams.set("schema", schema);
  return {
    schema,
    url: base.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: testPostgresUrl() });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

/** Runs one query against the test server's schema (outside any store), for assertions. */
export async function queryPostgres<T>(schema: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: testPostgresUrl(), options: `-c search_path=${schema}` });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}
