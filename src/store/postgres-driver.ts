import type Pg from "pg";
import { StoreUnavailableError, describeError } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import { redactUrl } from "./database-url.ts";
import type { SqlDriver, SqlExecutor } from "./sql-driver.ts";

/**
 * pg, required when the first PostgreSQL driver is made rather than imported: pg and the Node
 * modules it brings are RSS that a gateway on SQLite never uses (docs/deployment.md, "Footprint").
 */
let pg: typeof Pg;

// BIGINT columns hold epoch milliseconds and counters, all well inside 2^53.
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === pg.types.builtins.INT8 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as "text")) as typeof Pg.types.getTypeParser,
};

/** Error codes that mean "the database is not there", as opposed to "this SQL is wrong". */
const UNAVAILABLE_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "ECONNRESET",
  "EHOSTUNREACH",
  "EPIPE",
  "57P01",
  "57P02",
  "57P03", // admin shutdown, crash shutdown, cannot connect now
  "3D000", // database does not exist
  "28000",
  "28P01", // authentication
  "53300", // too many connections
]);

/** How many distinct statement texts get a name (see PostgresDriver.statement). */
const MAX_NAMED_STATEMENTS = 512;

export interface PostgresDriverOptions {
  connectionString: string;
  schema?: string;
  poolSize: number;
  logger?: Logger;
  /** false: no named statements (`?prepare=off`); default true. */
  prepare?: boolean;
  /** At most this many distinct texts are named (default 512); for tests. */
  maxNamedStatements?: number;
}

/** pg driver: a pool whose connections all use the configured schema. */
export class PostgresDriver implements SqlDriver {
  readonly dialect = "postgres" as const;
  private readonly pool: Pg.Pool;
  private readonly where: string;
  /** Statement text → its name on every connection of the pool. */
  private readonly statementNames = new Map<string, string>();

  constructor(private readonly options: PostgresDriverOptions) {
    this.where = redactUrl(options.connectionString);
    pg ??= require("pg") as typeof Pg;
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.poolSize,
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 30_000,
      types,
      // search_path is set at connect time, so pooled connections never see another schema.
      ...(options.schema !== undefined && { options: `-c search_path=${options.schema}` }),
    });
    // An idle pooled connection that dies (restart, network) must not crash the process.
    this.pool.on("error", (err) => options.logger?.warn({ err: describeError(err) }, "idle PostgreSQL connection lost"));
  }

  query<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return this.guard(async () => (await this.pool.query(this.statement(sql, params))).rows as T[]);
  }

  execute(sql: string, params: readonly unknown[] = []): Promise<number> {
    return this.guard(async () => (await this.pool.query(this.statement(sql, params))).rowCount ?? 0);
  }

  /**
   * A statement with parameters goes as a named prepared statement: each connection parses and
   * plans its text once (pg prepares it on first use there), not on every execution. The audit
   * append, the job claims and outcomes run hundreds of times a second; unnamed, PostgreSQL spent
   * more CPU per job than the gateway (docs/jobs.md). Names go to the first `maxNamedStatements`
   * distinct texts, which bounds what a connection keeps prepared: the store's texts are fixed or
   * vary only with a list's length, so texts past the bound (none in practice) simply run unnamed.
   * Statements without parameters (scripts, BEGIN/COMMIT) are left to the simple protocol.
   */
  private statement(sql: string, params: readonly unknown[]): Pg.QueryConfig {
    const values = params as unknown[];
    if (params.length === 0 || this.options.prepare === false) return { text: sql, values };
    let name = this.statementNames.get(sql);
    if (name === undefined && this.statementNames.size < (this.options.maxNamedStatements ?? MAX_NAMED_STATEMENTS)) {
      name = `mcpgw_${this.statementNames.size}`;
      this.statementNames.set(sql, name);
    }
    return name === undefined ? { text: sql, values } : { name, text: sql, values };
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const client = await this.guard(() => this.pool.connect());
    // pg-pool takes its error listener off a checked-out client: a connection lost between two
    // statements would be an unhandled 'error' event (a crash). The next statement reports it.
    const onLost = (err: Error) => this.options.logger?.warn({ err: describeError(err) }, "PostgreSQL connection lost during a transaction");
    client.on("error", onLost);
    const tx: SqlExecutor = {
      query: async <R>(sql: string, params: readonly unknown[] = []) => (await client.query(this.statement(sql, params))).rows as R[],
      execute: async (sql: string, params: readonly unknown[] = []) => (await client.query(this.statement(sql, params))).rowCount ?? 0,
    };
    try {
      await client.query("BEGIN");
      const result = await fn(tx);
      await client.query("COMMIT");
      return result;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw this.classify(err);
    } finally {
      client.off("error", onLost);
      client.release();
    }
  }

  async runScript(tx: SqlExecutor, sql: string): Promise<void> {
    // Without parameters pg uses the simple query protocol, which accepts several statements.
    await tx.execute(sql);
  }

  async withMigrationLock<T>(fn: () => Promise<T>): Promise<T> {
    const client = await this.guard(() => this.pool.connect());
    const key = `mcpgw.migrate.${this.options.schema ?? "public"}`;
    try {
      // Session-level advisory lock: a second `mcpgw migrate` waits here until the first is done.
      await client.query("SELECT pg_advisory_lock(hashtext($1))", [key]);
      try {
        if (this.options.schema !== undefined) await client.query(`CREATE SCHEMA IF NOT EXISTS "${this.options.schema}"`);
        return await fn();
      } finally {
        await client.query("SELECT pg_advisory_unlock(hashtext($1))", [key]).catch(() => undefined);
      }
    } finally {
      client.release();
    }
  }

  async ping(): Promise<void> {
    await this.query("SELECT 1");
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.classify(err);
    }
  }

  /** Connection failures become StoreUnavailableError with advice; SQL errors pass through. */
  private classify(err: unknown): unknown {
    const code = (err as { code?: string }).code;
    const message = describeError(err);
    const connectionLost = /Connection terminated|connection timeout|timeout exceeded when trying to connect/i.test(message);
    if ((code !== undefined && UNAVAILABLE_CODES.has(code)) || connectionLost) {
      return new StoreUnavailableError(
        `PostgreSQL at ${this.where} is unreachable: ${message}`,
        "check that PostgreSQL is running and that --db / MCPGW_DATABASE_URL points at it",
        { cause: err },
      );
    }
    return err;
  }
}
