import { type Migration, type MigrationStatus, applyMigrations, migrationStatus } from "./migrations.ts";
import { SqlBackendRepository } from "./sql-backends.ts";
import { SqlChangeCounter } from "./sql-changes.ts";
import { type RoleRepository, SqlRoleRepository } from "./sql-roles.ts";
import type { SqlDriver } from "./sql-driver.ts";
import type { BackendRepository, ChangeCounter, Store } from "./store.ts";

/** The Store over any SqlDriver: repositories are written once, in SQL both dialects accept. */
export class SqlStore implements Store {
  readonly backends: BackendRepository;
  readonly roles: RoleRepository;
  readonly changes: ChangeCounter;

  constructor(
    private readonly driver: SqlDriver,
    private readonly migrations: Migration[],
    readonly location: string,
  ) {
    this.backends = new SqlBackendRepository(driver);
    this.roles = new SqlRoleRepository(driver);
    this.changes = new SqlChangeCounter(driver);
  }

  get dialect() {
    return this.driver.dialect;
  }

  migrate(): Promise<string[]> {
    return applyMigrations(this.driver, this.migrations);
  }

  migrationStatus(): Promise<MigrationStatus> {
    return migrationStatus(this.driver, this.migrations);
  }

  ping(): Promise<void> {
    return this.driver.ping();
  }

  close(): Promise<void> {
    return this.driver.close();
  }
}
