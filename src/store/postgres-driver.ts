import type { SQL } from "bun";
import { StoreUnavailableError, describeError } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import { redactUrl } from "./database-url.ts";
import type { SqlDriver, SqlExecutor } from "./sql-driver.ts";

/** Server error codes (SQLSTATE) that mean "the database is not there", as opposed to "this SQL is wrong". */
const UNAVAILABLE_SQLSTATES = new Set([
  "57P01",
  "57P02",
  "57P03", // admin shutdown, crash shutdown, cannot connect now
  "3D000", // database does not exist
  "28000",
  "28P01", // authentication
  "53300", // too many connections
]);
/** System error codes of a connection that failed or went away. */
const UNAVAILABLE_SYSTEM_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "ECONNRESET", "EHOSTUNREACH", "EPIPE"]);
/** Bun's own codes for errors that are about the SQL or its use, not the connection. */
const SQL_ERROR_CODES = new Set([
  "ERR_POSTGRES_SERVER_ERROR",
  "ERR_POSTGRES_QUERY_CANCELLED",
  "ERR_POSTGRES_INVALID_TRANSACTION_STATE",
  "ERR_POSTGRES_NOT_TAGGED_CALL",
]);
/** Why a pooled connection closes in the normal course of things (idle, its lifetime, close()), or never opened (reported to the caller). */
const QUIET_CLOSE_CODES = new Set([
  "ERR_POSTGRES_IDLE_TIMEOUT",
  "ERR_POSTGRES_LIFETIME_TIMEOUT",
  "ERR_POSTGRES_CONNECTION_CLOSED",
  "ERR_POSTGRES_CONNECTION_REFUSED",
  "ERR_POSTGRES_CONNECTION_TIMEOUT",
]);
/** PostgreSQL's type OID of int8 (BIGINT, COUNT(*)). */
const INT8 = 20;

export interface PostgresDriverOptions {
  connectionString: string;
  schema?: string;
  poolSize: number;
  logger?: Logger;
  /** false: no named prepared statements (`?prepare=off`); default true. */
  prepare?: boolean;
}

type Rows = Record<string, unknown>[] & { count: number; columns: SQL.ResultColumn[] | null; statement: SQL.ResultStatement | null };

/**
 * The PostgreSQL driver, on Bun's own client (`Bun.SQL`): a pool whose connections all use the
 * configured schema. Bun's client is native: per statement it spent a third of the CPU that the
 * `pg` package did in this process (docs/jobs.md), and it prepares each statement once per
 * connection (named, the 1,024 last used kept), unless the URL says `?prepare=off`.
 */
export class PostgresDriver implements SqlDriver {
  readonly dialect = "postgres" as const;
  private readonly sql: SQL;
  private readonly where: string;
  /** Per prepared statement (Bun shares one object for its runs on a connection): its int8 columns. */
  private readonly int8Columns = new WeakMap<object, string[]>();
  /** Statements on the pool, each on whichever connection is free. */
  private readonly pooled: SqlExecutor;

  constructor(private readonly options: PostgresDriverOptions) {
    this.where = redactUrl(options.connectionString);
    this.sql = new Bun.SQL(options.connectionString, {
      max: options.poolSize,
      connectionTimeout: 5,
      idleTimeout: 30,
      prepare: options.prepare !== false,
      // search_path is set when a connection opens, so pooled connections never see another schema.
      ...(options.schema !== undefined && { connection: { search_path: options.schema } }),
      // A connection the server ended (a restart, an administrator) is replaced on next use; say so.
      onclose: (err) => {
        const code = (err as { code?: unknown } | null)?.code;
        if (typeof code === "string" && !QUIET_CLOSE_CODES.has(code))
          options.logger?.warn({ err: describeError(err) }, "PostgreSQL connection lost; the pool opens another on next use");
      },
    });
    this.pooled = this.executorOn(this.sql);
  }

  query<T>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    return this.pooled.query<T>(sql, params);
  }

  execute(sql: string, params?: readonly unknown[]): Promise<number> {
    return this.pooled.execute(sql, params);
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const connection = await this.guard(() => this.sql.reserve());
    const tx = this.executorOn(connection);
    try {
      await connection.unsafe("BEGIN");
      const result = await fn(tx);
      await connection.unsafe("COMMIT");
      return result;
    } catch (err) {
      await connection.unsafe("ROLLBACK").catch(() => undefined);
      throw this.classify(err);
    } finally {
      connection.release();
    }
  }

  async runScript(tx: SqlExecutor, sql: string): Promise<void> {
    // Without parameters the statement goes by the simple query protocol, which accepts several (run()).
    await tx.execute(sql);
  }

  async withMigrationLock<T>(fn: () => Promise<T>): Promise<T> {
    const connection = await this.guard(() => this.sql.reserve());
    const key = `mcpgw.migrate.${this.options.schema ?? "public"}`;
    try {
      // Session-level advisory lock: a second `mcpgw migrate` waits here until the first is done.
      await this.guard(() => connection.unsafe("SELECT pg_advisory_lock(hashtext($1))", [key]));
      try {
        if (this.options.schema !== undefined) await this.guard(() => connection.unsafe(`CREATE SCHEMA IF NOT EXISTS "${this.options.schema}"`));
        return await fn();
      } finally {
        await connection.unsafe("SELECT pg_advisory_unlock(hashtext($1))", [key]).catch(() => undefined);
      }
    } finally {
      connection.release();
    }
  }

  async ping(): Promise<void> {
    await this.query("SELECT 1");
  }

  async close(): Promise<void> {
    await this.sql.close({ timeout: 5 });
  }

  /** Statements on `on` (the pool, or a reserved connection): rows as rows(), counts as pg's rowCount, errors classified. */
  private executorOn(on: SQL): SqlExecutor {
    return {
      query: <T>(sql: string, params: readonly unknown[] = []) => this.guard(async () => this.rows<T>(await this.run(on, sql, params))),
      execute: (sql: string, params: readonly unknown[] = []) => this.guard(async () => (await this.run(on, sql, params)).count),
    };
  }

  /** One statement; one without parameters by the simple protocol, so a script of several runs whole. */
  private run(on: SQL, sql: string, params: readonly unknown[]): Promise<Rows> {
    const query = params.length === 0 ? on.unsafe(sql).simple() : on.unsafe(sql, params as unknown[]);
    return query as unknown as Promise<Rows>;
  }

  /**
   * The rows as a plain array, with int8 values as numbers: BIGINT columns hold epoch milliseconds
   * and counters, all well inside 2^53.
   */
  private rows<T>(result: Rows | Rows[]): T[] {
    // A script of several statements resolves to one result per statement; the last is what it returns.
    const rows = Array.isArray(result[0]) ? (result as Rows[]).at(-1)! : (result as Rows);
    if (rows.length === 0) return [];
    for (const column of this.int8Of(rows)) {
      for (const row of rows) {
        const value = row[column];
        if (typeof value === "string") row[column] = Number(value);
      }
    }
    return Array.from(rows) as T[];
  }

  private int8Of(rows: Rows): string[] {
    const statement = rows.statement;
    const known = statement ? this.int8Columns.get(statement) : undefined;
    if (known) return known;
    const columns = (rows.columns ?? []).filter((column) => column.type === INT8).map((column) => column.name);
    if (statement) this.int8Columns.set(statement, columns);
    return columns;
  }

  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.classify(err);
    }
  }

  /**
   * Connection failures become StoreUnavailableError with advice. SQL errors pass through, with
   * the server's SQLSTATE as their `code` (Bun keeps it in `errno`), as callers compare it.
   */
  private classify(err: unknown): unknown {
    if (err instanceof StoreUnavailableError) return err;
    const e = err as { code?: unknown; errno?: unknown };
    const code = typeof e.code === "string" ? e.code : undefined;
    const sqlState = typeof e.errno === "string" ? e.errno : undefined;
    const unavailable =
      (sqlState !== undefined && UNAVAILABLE_SQLSTATES.has(sqlState)) ||
      (code !== undefined && (UNAVAILABLE_SYSTEM_CODES.has(code) || (code.startsWith("ERR_POSTGRES_") && !SQL_ERROR_CODES.has(code))));
    if (unavailable) {
      return new StoreUnavailableError(
        `PostgreSQL at ${this.where} is unreachable: ${describeError(err)}`,
        "check that PostgreSQL is running and that --db / MCPGW_DATABASE_URL points at it",
        { cause: err },
      );
    }
    if (sqlState !== undefined && err instanceof Error) Object.defineProperty(err, "code", { value: sqlState, configurable: true });
    return err;
  }
}
