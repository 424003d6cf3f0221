import { Database } from "bun:sqlite";
import { join } from "node:path";
import pg from "pg";
import { openStore } from "../../src/store/open-store.ts";
import type { Store } from "../../src/store/store.ts";
import { isolatedSchema, postgresAvailable, testPostgresUrl } from "./postgres.ts";
import { tempDir } from "./temp-dir.ts";

/** A store on a database of its own, for one test file; the same shape on both drivers. */
export interface StoreFixture {
  label: "sqlite" | "postgres";
  /** The database URL (for the CLI, the binary, a second gateway). */
  url: string;
  store: Store;
  /** Another store on the same database, as another process (or replica) would have. */
  openPeer(): Store;
  /** Runs SQL ($1, $2 … placeholders) outside the store, as someone with database access would. */
  raw<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  cleanup(): Promise<void>;
}

export type StoreFixtureSetup = () => Promise<StoreFixture | undefined>;

/** A SQLite file in a temporary folder (not migrated: the caller decides). */
export async function sqliteStoreFixture(name = "store"): Promise<StoreFixture> {
  const dir = tempDir(`mcpgw-${name}-`);
  const path = join(dir.path, `${name}.db`);
  const url = `sqlite:${path}`;
  const store = openStore(url);
  let db: Database | undefined;
  return {
    label: "sqlite",
    url,
    store,
    openPeer: () => openStore(url),
    async raw<T>(sql: string, params: unknown[] = []) {
      db ??= new Database(path);
      db.exec("PRAGMA busy_timeout = 5000");
      return db.query(sql.replace(/\$(\d+)/g, "?$1")).all(...(params as never[])) as T[];
    },
    async cleanup() {
      db?.close();
      await store.close();
      dir.remove();
    },
  };
}

/** A schema of its own on the test PostgreSQL; undefined (skipped loudly, failing under CI) when there is none. */
export async function postgresStoreFixture(prefix = "store"): Promise<StoreFixture | undefined> {
  if (!(await postgresAvailable())) return undefined;
  const schema = await isolatedSchema(prefix);
  const store = openStore(schema.url, { poolSize: 4 });
  let client: pg.Client | undefined;
  return {
    label: "postgres",
    url: schema.url,
    store,
    openPeer: () => openStore(schema.url, { poolSize: 4 }),
    async raw<T>(sql: string, params: unknown[] = []) {
      if (!client) {
        client = new pg.Client({ connectionString: testPostgresUrl(), options: `-c search_path=${schema.schema}` });
        await client.connect();
      }
      return (await client.query(sql, params)).rows as T[];
    },
    async cleanup() {
      await client?.end();
      await store.close();
      await schema.drop();
    },
  };
}

/** Both drivers, for describe.each / a contract run per store. */
export const BOTH_STORES = [
  ["sqlite", sqliteStoreFixture],
  ["postgres", postgresStoreFixture],
] as const;
