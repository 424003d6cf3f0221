import { McpgwError, StoreUnavailableError, describeError } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import { redactUrl } from "../store/database-url.ts";
import { openStore } from "../store/open-store.ts";
import type { Store } from "../store/store.ts";

export interface DatabaseSetupOptions {
  logger: Logger;
  migrationsDir?: string;
  /** How long the database has to answer the first query. */
  timeoutMs?: number;
}

/** A store that answered and is migrated, and what migrating it did. */
export interface ReadyDatabase {
  store: Store;
  /** Migrations applied now (empty when the database was already current). */
  applied: string[];
}

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Opens the database a URL names, checks that it answers and applies pending migrations: the
 * test `mcpgw init` runs before it saves the URL. On failure the store is closed and the error
 * says what went wrong with that URL.
 */
export async function openReadyDatabase(url: string, options: DatabaseSetupOptions): Promise<ReadyDatabase> {
  // openStore itself rejects a malformed URL (ConfigError) before anything is opened.
  const store = openStore(url, { poolSize: 2, logger: options.logger, ...(options.migrationsDir !== undefined && { migrationsDir: options.migrationsDir }) });
  try {
    await withTimeout(
      store.ping(),
      options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      `${store.location} did not answer within ${Math.round((options.timeoutMs ?? DEFAULT_TIMEOUT_MS) / 1_000)}s`,
    );
    const applied = await store.migrate();
    return { store, applied };
  } catch (err) {
    await store.close().catch(() => undefined);
    if (err instanceof McpgwError) throw err;
    throw new StoreUnavailableError(
      `cannot use the database ${redactUrl(url)}: ${describeError(err)}`,
      "check the URL, that the server is running and that the user may create tables",
      { cause: err },
    );
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreUnavailableError(message, "check that the database server is running and reachable from here")), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
