import { Database } from "bun:sqlite";
import { join } from "node:path";
import { openStore } from "../../src/store/open-store.ts";
import type { Store } from "../../src/store/store.ts";
import { isolatedSchema, postgresAvailable, queryPostgres } from "./postgres.ts";
import { tempDir } from "./temp-dir.ts";

/** A migrated store for the audit suites, plus raw SQL on the same database to tamper with it. */
export interface AuditStoreFixture {
  label: "sqlite" | "postgres";
  url: string;
  store: Store;
  /** Runs SQL ($1, $2 … placeholders) outside the store, as an attacker with database access would. */
  raw<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  cleanup(): Promise<void>;
}

export type AuditStoreSetup = () => Promise<AuditStoreFixture | undefined>;

export async function sqliteAuditStore(): Promise<AuditStoreFixture> {
  const dir = tempDir("mcpgw-audit-");
  const path = join(dir.path, "audit.db");
  const url = `sqlite:${path}`;
  const store = openStore(url);
  await store.migrate();
  const db = new Database(path);
  db.exec("PRAGMA busy_timeout = 5000");
  return {
    label: "sqlite",
    url,
    store,
    async raw<T>(sql: string, params: unknown[] = []) {
      return db.query(sql.replace(/\$(\d+)/g, "?$1")).all(...(params as never[])) as T[];
    },
    async cleanup() {
      db.close();
      await store.close();
      dir.remove();
    },
  };
}

export async function postgresAuditStore(): Promise<AuditStoreFixture | undefined> {
  if (!(await postgresAvailable())) return undefined;
  const schema = await isolatedSchema("audit");
  const store = openStore(schema.url, { poolSize: 4 });
  await store.migrate();
  return {
    label: "postgres",
    url: schema.url,
    store,
    raw: <T>(sql: string, params: unknown[] = []) => queryPostgres<T>(schema.schema, sql, params),
    async cleanup() {
      await store.close();
      await schema.drop();
    },
  };
}

/** Both stores, for suites that run the same tests on each. */
export const AUDIT_STORES: [string, AuditStoreSetup][] = [
  ["sqlite", sqliteAuditStore],
  ["postgres", postgresAuditStore],
];
