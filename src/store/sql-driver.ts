/**
 * The seam between the store's repositories and a database. SQL is written once, in the
 * portable subset both dialects share, with $1, $2 … placeholders; drivers adapt it.
 */
export type Dialect = "sqlite" | "postgres";

export interface SqlExecutor {
  /** Rows of a SELECT (or of a statement with RETURNING). */
  query<T>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** A statement without rows; returns how many rows it changed. */
  execute(sql: string, params?: readonly unknown[]): Promise<number>;
}

export interface SqlDriver extends SqlExecutor {
  readonly dialect: Dialect;
  /** Runs fn in one transaction: committed if it resolves, rolled back if it throws. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Runs several statements (a migration file) inside the given transaction. */
  runScript(tx: SqlExecutor, sql: string): Promise<void>;
  /** Holds a lock that only one process migrating this database can hold at a time. */
  withMigrationLock<T>(fn: () => Promise<T>): Promise<T>;
  /** Cheap round trip that proves the database answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
