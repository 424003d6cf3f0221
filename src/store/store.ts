import type { AuditRepository } from "../audit/audit-repository.ts";
import type { SigningKeyRepository } from "../auth/signing-key-repository.ts";
import type { TokenRepository } from "../auth/token-repository.ts";
import type { BackendRepository } from "../backends/backend-repository.ts";
import type { DeclarativeRepository } from "../declarative/declarative-repository.ts";
import type { JobRepository } from "../jobs/job-repository.ts";
import type { LimitRepository } from "../limits/limit-repository.ts";
import type { RoleRepository } from "../policy/role-repository.ts";
import type { SessionSnapshotRepository } from "../sessions/session-snapshot-repository.ts";
import type { MigrationStatus } from "./migrations.ts";
import type { Dialect } from "./sql-driver.ts";
import type { PinRepository } from "../pinning/pin-record.ts";
import type { SubjectSecretRepository } from "../credentials/subject-secret-repository.ts";

export { CHANGE_TOPICS, type ChangeTopic } from "../changes/change-topics.ts";
import type { ChangeTopic } from "../changes/change-topics.ts";

/**
 * The requestStates (sealed MCP 2026-07-28 input_required state, src/front/request-state-seal.ts)
 * a client has presented: each is good for one retry, on whichever replica it reaches.
 */
export interface SpentRequestStates {
  /** Marks a state spent until `expiresAt`; true the first time, false when it was spent before (a replay). */
  spend(id: string, expiresAt: number): Promise<boolean>;
}

export interface ChangeCounter {
  /** Current version of every topic. */
  versions(): Promise<Record<ChangeTopic, number>>;
}

/**
 * The database behind the gateway and the CLI. One contract (test/store.contract.ts),
 * two implementations: SQLite (embedded default) and PostgreSQL (shared by replicas).
 */
export interface Store {
  readonly dialect: Dialect;
  /** Where the data is, with any password hidden: for logs and `doctor`. */
  readonly location: string;
  /** Applies pending migrations; returns the names applied (empty when current). */
  migrate(): Promise<string[]>;
  migrationStatus(): Promise<MigrationStatus>;
  /** Resolves when the database answers; StoreUnavailableError otherwise. */
  ping(): Promise<void>;
  readonly backends: BackendRepository;
  readonly roles: RoleRepository;
  readonly limits: LimitRepository;
  readonly signingKeys: SigningKeyRepository;
  readonly tokens: TokenRepository;
  readonly changes: ChangeCounter;
  /** The hash-chained audit log (docs/audit.md). */
  readonly audit: AuditRepository;
  /** Roles, grants, backends and limits read and applied together (mcpgw apply/export). */
  readonly declarative: DeclarativeRepository;
  /** The durable queue of asynchronous tool calls (REST jobs and MCP tasks). */
  readonly jobs: JobRepository;
  readonly spentRequestStates: SpentRequestStates;
  /** What running gateways publish about their MCP sessions (mcpgw sessions list). */
  readonly sessionSnapshots: SessionSnapshotRepository;
  /** Tool-definition pins and each backend's pinning policy (docs/security.md). */
  readonly pins: PinRepository;
  /** Per-subject secrets to backends, encrypted before they are stored (docs/security.md). */
  readonly subjectSecrets: SubjectSecretRepository;
  close(): Promise<void>;
}
