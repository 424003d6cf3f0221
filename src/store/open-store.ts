import { assertNever } from "../assert-never.ts";
import type { Logger } from "../log/logger.ts";
import { parseDatabaseUrl, redactUrl } from "./database-url.ts";
import { loadMigrations } from "./migrations.ts";
import { PostgresDriver } from "./postgres-driver.ts";
import { SqliteDriver } from "./sqlite-driver.ts";
import { SqlStore } from "./sql-store.ts";
import type { Store } from "./store.ts";

export interface OpenStoreOptions {
  poolSize?: number;
  /** Root holding sqlite/ and postgres/ migration folders (MCPGW_MIGRATIONS_DIR); default: embedded or source tree. */
  migrationsDir?: string;
  logger?: Logger;
  /**
   * Whether opening may create the database (an SQLite file and its folder). Only what sets a
   * database up (serve on SQLite, migrate, init, apply) passes true; every other command opens
   * what exists and checks its schema (schema-check.ts).
   */
  create?: boolean;
}

/**
 * Opens the store a database URL names. Migration files are read and checked first, so a bad
 * file is reported before any connection is made. Opening does not connect to PostgreSQL
 * (the pool connects on first use), so an unreachable server surfaces on the first call.
 */
export function openStore(url: string, options: OpenStoreOptions = {}): Store {
  const target = parseDatabaseUrl(url);
  const migrations = loadMigrations(target.kind, options.migrationsDir);
  switch (target.kind) {
    case "sqlite":
      return new SqlStore(new SqliteDriver(target.path, { create: options.create ?? true }), migrations, `sqlite:${target.path}`);
    case "postgres":
      return new SqlStore(
        new PostgresDriver({
          connectionString: target.connectionString,
          poolSize: options.poolSize ?? 10,
          ...(target.schema !== undefined && { schema: target.schema }),
          ...(target.prepare === false && { prepare: false }),
          ...(options.logger !== undefined && { logger: options.logger }),
        }),
        migrations,
        redactUrl(url),
      );
    default:
      return assertNever(target);
  }
}
