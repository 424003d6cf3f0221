import { type Migration, type MigrationStatus, applyMigrations, migrationStatus } from "./migrations.ts";
import type { AuditRepository } from "../audit/audit-repository.ts";
import { SqlAuditRepository } from "./sql-audit.ts";
import { SqlBackendRepository } from "./sql-backends.ts";
import { SqlChangeCounter } from "./sql-changes.ts";
import { SqlDeclarativeRepository } from "./sql-declarative.ts";
import { SqlJobRepository } from "./sql-jobs.ts";
import type { JobRepository } from "../jobs/job-repository.ts";
import { SqlSpentRequestStates } from "./sql-request-states.ts";
import { SqlSigningKeyRepository } from "./sql-signing-keys.ts";
import { SqlTokenRepository } from "./sql-tokens.ts";
import { SqlSessionSnapshotRepository } from "./sql-session-snapshots.ts";
import type { SessionSnapshotRepository } from "../sessions/session-snapshot-repository.ts";
import { SqlLimitRepository } from "./sql-limits.ts";
import { SqlRoleRepository } from "./sql-roles.ts";
import type { SqlDriver } from "./sql-driver.ts";
import type { ChangeCounter, SpentRequestStates, Store } from "./store.ts";
import type { SigningKeyRepository } from "../auth/signing-key-repository.ts";
import type { TokenRepository } from "../auth/token-repository.ts";
import type { BackendRepository } from "../backends/backend-repository.ts";
import type { DeclarativeRepository } from "../declarative/declarative-repository.ts";
import type { LimitRepository } from "../limits/limit-repository.ts";
import type { RoleRepository } from "../policy/role-repository.ts";
import { SqlPinRepository } from "./sql-pins.ts";
import type { PinRepository } from "../pinning/pin-record.ts";
import { SqlSubjectSecretRepository } from "./sql-subject-secrets.ts";
import type { SubjectSecretRepository } from "../credentials/subject-secret-repository.ts";

/** The Store over any SqlDriver: repositories are written once, in SQL both dialects accept. */
export class SqlStore implements Store {
  readonly backends: BackendRepository;
  readonly roles: RoleRepository;
  readonly limits: LimitRepository;
  readonly signingKeys: SigningKeyRepository;
  readonly tokens: TokenRepository;
  readonly changes: ChangeCounter;
  readonly audit: AuditRepository;
  readonly declarative: DeclarativeRepository;
  readonly jobs: JobRepository;
  readonly spentRequestStates: SpentRequestStates;
  readonly sessionSnapshots: SessionSnapshotRepository;
  readonly pins: PinRepository;
  readonly subjectSecrets: SubjectSecretRepository;

  constructor(
    private readonly driver: SqlDriver,
    private readonly migrations: Migration[],
    readonly location: string,
  ) {
    this.backends = new SqlBackendRepository(driver);
    this.roles = new SqlRoleRepository(driver);
    this.limits = new SqlLimitRepository(driver);
    this.signingKeys = new SqlSigningKeyRepository(driver);
    this.tokens = new SqlTokenRepository(driver);
    this.changes = new SqlChangeCounter(driver);
    this.audit = new SqlAuditRepository(driver);
    this.declarative = new SqlDeclarativeRepository(driver);
    this.jobs = new SqlJobRepository(driver);
    this.spentRequestStates = new SqlSpentRequestStates(driver);
    this.sessionSnapshots = new SqlSessionSnapshotRepository(driver);
    this.pins = new SqlPinRepository(driver);
    this.subjectSecrets = new SqlSubjectSecretRepository(driver);
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
