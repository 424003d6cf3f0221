import { Database, type SQLQueryBindings, type Statement } from "bun:sqlite";
import { existsSync, mkdirSync } from "node:fs";
import { noDatabase } from "./schema-check.ts";
import { dirname, resolve } from "node:path";
import { StoreUnavailableError, describeError } from "../errors.ts";
import { AsyncMutex } from "./async-mutex.ts";
import type { SqlDriver, SqlExecutor } from "./sql-driver.ts";

const BUSY_TIMEOUT_MS = 5_000;

/** $1 → ?1: SQLite's numbered parameters, so the same SQL text serves both dialects. */
export function toSqlite(sql: string): string {
  return sql.replace(/\$(\d+)/g, "?$1");
}

/**
 * Prepared statements by their portable SQL text, so a statement run again (every audit record,
 * every poll) costs a map lookup instead of a rewrite of its text and bun:sqlite's own lookup.
 * Bounded: ad-hoc statements (filters built per query) are few, but must not grow it forever.
 */
class StatementCache {
  private readonly statements = new Map<string, Statement>();

  constructor(
    private readonly db: Database,
    private readonly max = 500,
  ) {}

  get(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      if (this.statements.size >= this.max) this.statements.clear();
      statement = this.db.prepare(toSqlite(sql));
      this.statements.set(sql, statement);
    }
    return statement;
  }
}

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code.startsWith("SQLITE_BUSY") : /database is locked/.test(describeError(err));
}

/**
 * Runs `step` until SQLite stops answering "database is locked", for at most the busy timeout.
 * Switching a file to WAL needs its exclusive lock, and two processes opening a new file at the
 * same moment (two `mcpgw migrate`, two replicas starting) both ask for it: SQLite answers one of
 * them SQLITE_BUSY at once, without its busy handler, because waiting could deadlock. Only opening
 * does this, once per process, so a synchronous wait here holds nothing else up.
 */
function whileBusy(step: () => void): void {
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  for (;;) {
    try {
      step();
      return;
    } catch (err) {
      if (!isBusy(err) || Date.now() >= deadline) throw err;
      Bun.sleepSync(5 + Math.random() * 20);
    }
  }
}

function bindable(params: readonly unknown[]): SQLQueryBindings[] {
  return params.map((value) => (typeof value === "boolean" ? Number(value) : value)) as SQLQueryBindings[];
}

/**
 * bun:sqlite driver: one connection in WAL mode with a busy timeout and foreign keys on.
 * bun:sqlite is synchronous, so a transaction that awaits between statements holds a mutex
 * that every other statement waits for; otherwise they would join it. The mutex is per file,
 * not per connection: a second connection in the same thread would otherwise block the thread
 * in SQLite's busy wait while the transaction holding the lock can never resume.
 */
export class SqliteDriver implements SqlDriver {
  readonly dialect = "sqlite" as const;
  private readonly db: Database;
  private static readonly fileMutexes = new Map<string, AsyncMutex>();
  private readonly mutex: AsyncMutex;
  private readonly direct: SqlExecutor;

  /** `create: false` opens only an existing file (SchemaError otherwise), and creates no folder. */
  constructor(path: string, options: { create?: boolean } = {}) {
    const create = options.create ?? true;
    if (!create && path !== ":memory:" && !existsSync(path)) throw noDatabase(`sqlite:${path}`);
    const key = path === ":memory:" ? crypto.randomUUID() : resolve(path);
    this.mutex = SqliteDriver.fileMutexes.get(key) ?? new AsyncMutex();
    SqliteDriver.fileMutexes.set(key, this.mutex);
    try {
      if (create && path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
      const db = new Database(path, { create, strict: true });
      this.db = db;
      db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
      whileBusy(() => db.exec("PRAGMA journal_mode = WAL"));
      db.exec("PRAGMA synchronous = NORMAL");
      db.exec("PRAGMA foreign_keys = ON");
    } catch (err) {
      throw new StoreUnavailableError(
        `cannot open SQLite database "${path}": ${describeError(err)}`,
        "check that the folder exists and is writable, or pass another --db sqlite:PATH",
        { cause: err },
      );
    }
    const statements = new StatementCache(this.db);
    this.direct = {
      query: async <T>(sql: string, params: readonly unknown[] = []) => statements.get(sql).all(...bindable(params)) as T[],
      execute: async (sql: string, params: readonly unknown[] = []) => statements.get(sql).run(...bindable(params)).changes,
    };
  }

  query<T>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    return this.mutex.run(() => this.direct.query<T>(sql, params));
  }

  execute(sql: string, params?: readonly unknown[]): Promise<number> {
    return this.mutex.run(() => this.direct.execute(sql, params));
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.mutex.run(async () => {
      // IMMEDIATE takes the write lock now, so two processes cannot both read-then-write.
      this.db.exec("BEGIN IMMEDIATE");
      try {
        const result = await fn(this.direct);
        this.db.exec("COMMIT");
        return result;
      } catch (err) {
        // SQLite ends the transaction itself on some errors (a full disk, I/O): a ROLLBACK then
        // fails with "no transaction is active", which must not hide the error that mattered.
        if (this.db.inTransaction) {
          try {
            this.db.exec("ROLLBACK");
          } catch {
            // the original error is the one to report
          }
        }
        throw err;
      }
    });
  }

  async runScript(_tx: SqlExecutor, sql: string): Promise<void> {
    // Called inside transaction(), which already holds the mutex and the write lock.
    this.db.exec(sql);
  }

  withMigrationLock<T>(fn: () => Promise<T>): Promise<T> {
    // Each migration runs in a BEGIN IMMEDIATE transaction, which serialises processes.
    return fn();
  }

  async ping(): Promise<void> {
    await this.query("SELECT 1");
  }

  async close(): Promise<void> {
    await this.mutex.run(async () => this.db.close());
  }
}
