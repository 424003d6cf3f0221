import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { MigrationError, describeError } from "../errors.ts";
import type { Dialect, SqlDriver } from "./sql-driver.ts";

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Set by scripts/build.ts (`define`): the migration files of both dialects, embedded in the binary. */
declare const MCPGW_EMBEDDED_MIGRATIONS: Record<Dialect, Record<string, string>> | undefined;

const FILE_NAME = /^(\d{4})_([a-z0-9_]+)\.sql$/;
/** The source tree's migrations/ folder (development and tests; the binary uses the embedded copy). */
const sourceFolder = () => fileURLToPath(new URL("../../migrations", import.meta.url));

/**
 * The migrations for a dialect, in order: from `folder` when given (MCPGW_MIGRATIONS_DIR),
 * else embedded in the compiled binary, else from the source tree's migrations/ folder.
 */
export function loadMigrations(dialect: Dialect, folder?: string): Migration[] {
  if (folder === undefined && typeof MCPGW_EMBEDDED_MIGRATIONS !== "undefined") {
    return parseMigrationFiles(MCPGW_EMBEDDED_MIGRATIONS[dialect], "(embedded)");
  }
  const path = join(folder ?? sourceFolder(), dialect);
  return parseMigrationFiles(readMigrationFolder(path), path);
}

/** Every .sql file of a folder, by name. */
export function readMigrationFolder(path: string): Record<string, string> {
  let names: string[];
  try {
    names = readdirSync(path).filter((name) => name.endsWith(".sql"));
  } catch (err) {
    throw new MigrationError(
      `cannot read the migrations folder ${path}: ${describeError(err)}`,
      "check MCPGW_MIGRATIONS_DIR; it must hold sqlite/ and postgres/ folders of NNNN_name.sql files",
    );
  }
  return Object.fromEntries(names.map((name) => [name, readFileSync(join(path, name), "utf8")]));
}

function parseMigrationFiles(files: Record<string, string>, where: string): Migration[] {
  const migrations: Migration[] = [];
  const seen = new Map<number, string>();
  for (const [file, sql] of Object.entries(files)) {
    const match = FILE_NAME.exec(file);
    if (!match) {
      throw new MigrationError(
        `migration file "${file}" in ${where} is not named NNNN_name.sql`,
        "rename it (four digits, an underscore, lower-case words, .sql) or move it out of the folder",
      );
    }
    const version = Number(match[1]);
    const twin = seen.get(version);
    if (twin !== undefined)
      throw new MigrationError(`migration files "${twin}" and "${file}" in ${where} share version ${match[1]}`, "give each migration its own number");
    if (sql.trim() === "") throw new MigrationError(`migration file "${file}" in ${where} is empty`, "put the SQL of the migration in it, or remove it");
    seen.set(version, file);
    migrations.push({ version, name: file.replace(/\.sql$/, ""), sql });
  }
  return migrations.sort((a, b) => a.version - b.version);
}

export interface MigrationStatus {
  applied: string[];
  pending: string[];
  /** Applied to the database but unknown to this binary: a newer mcpgw migrated it. */
  unknown: string[];
}

const LEDGER = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  checksum TEXT NOT NULL,
  applied_at BIGINT NOT NULL
)`;

function checksum(sql: string): string {
  return new Bun.CryptoHasher("sha256").update(sql).digest("hex");
}

/** Applies pending migrations in order, each in its own transaction; returns the names applied. */
export async function applyMigrations(driver: SqlDriver, migrations: Migration[]): Promise<string[]> {
  return driver.withMigrationLock(async () => {
    await driver.execute(LEDGER);
    await assertUnchanged(driver, migrations);
    const applied: string[] = [];
    for (const migration of migrations) {
      const didApply = await driver.transaction(async (tx) => {
        // Checked again inside the transaction: SQLite has no advisory lock, and another
        // process may have applied this migration since we looked.
        const done = await tx.query("SELECT version FROM schema_migrations WHERE version = $1", [migration.version]);
        if (done.length > 0) return false;
        try {
          await driver.runScript(tx, migration.sql);
        } catch (err) {
          throw new MigrationError(
            `migration ${migration.name} failed: ${describeError(err)}`,
            "fix the SQL in that file; nothing from this migration was applied",
            { cause: err },
          );
        }
        await tx.execute("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)", [
          migration.version,
          migration.name,
          checksum(migration.sql),
          Date.now(),
        ]);
        return true;
      });
      if (didApply) applied.push(migration.name);
    }
    return applied;
  });
}

/** Which migrations the database has and which it still needs. */
export async function migrationStatus(driver: SqlDriver, migrations: Migration[]): Promise<MigrationStatus> {
  const rows = await appliedRows(driver);
  const done = new Set(rows.map((row) => row.version));
  const known = new Set(migrations.map((m) => m.version));
  return {
    applied: rows.map((row) => row.name),
    pending: migrations.filter((m) => !done.has(m.version)).map((m) => m.name),
    unknown: rows.filter((row) => !known.has(row.version)).map((row) => row.name),
  };
}

async function appliedRows(driver: SqlDriver): Promise<{ version: number; name: string; checksum: string }[]> {
  try {
    return await driver.query("SELECT version, name, checksum FROM schema_migrations ORDER BY version");
  } catch (err) {
    // A database never migrated has no ledger: every migration is pending.
    if (/schema_migrations/.test(describeError(err))) return [];
    throw err;
  }
}

async function assertUnchanged(driver: SqlDriver, migrations: Migration[]): Promise<void> {
  const known = new Map(migrations.map((m) => [m.version, m]));
  for (const row of await appliedRows(driver)) {
    const migration = known.get(row.version);
    if (migration && checksum(migration.sql) !== row.checksum) {
      throw new MigrationError(
        `migration ${row.name} was edited after it was applied to this database`,
        "restore the original file and put the change in a new migration",
      );
    }
  }
}
