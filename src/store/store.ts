import type { SigningKeyRecord } from "../auth/signing-key.ts";
import type { TokenRecord } from "../auth/token-record.ts";
import type { AuditRepository } from "../audit/audit-repository.ts";
import type { BackendSpec } from "../backends/backend-spec.ts";
import type { JobRepository } from "../jobs/job-record.ts";
import type { SessionSnapshotRepository } from "../sessions/session-view.ts";
import type { MigrationStatus } from "./migrations.ts";
import type { PinRepository } from "../pinning/pin-record.ts";
import type { DeclarativeRepository } from "./sql-declarative.ts";
import type { LimitRepository } from "./sql-limits.ts";
import type { RoleRepository } from "./sql-roles.ts";
import type { Dialect } from "./sql-driver.ts";

/** Topics whose version a write bumps, so running gateways know to reload that part. */
export const CHANGE_TOPICS = ["backends", "policy", "tokens", "limits", "keys", "pins"] as const;
export type ChangeTopic = (typeof CHANGE_TOPICS)[number];

export interface BackendRepository {
  /** Adds a backend; ConflictError when the name is taken. */
  add(spec: BackendSpec): Promise<void>;
  /**
   * Replaces a backend's settings (its createdAt stays; updatedAt moves, so running gateways
   * reconnect it); NotFoundError when there is none by that name, ConflictError when
   * `expectedUpdatedAt` is given and someone changed it since it was read.
   */
  update(spec: BackendSpec, expectedUpdatedAt?: number): Promise<BackendSpec>;
  get(name: string): Promise<BackendSpec | undefined>;
  list(): Promise<BackendSpec[]>;
  /** Removes a backend; NotFoundError when there is none by that name. */
  remove(name: string): Promise<void>;
}

/** The gateway's signing keys. Every write moves the "keys" version. */
export interface SigningKeyRepository {
  /** Adds a key, which becomes the active one (rotation). */
  add(key: SigningKeyRecord): Promise<void>;
  /**
   * Adds the key only if no key is active, and returns the active key (the one added or the one
   * found): two processes starting at once on an empty database end up with one key.
   */
  addIfNoneActive(key: SigningKeyRecord): Promise<SigningKeyRecord>;
  /** Every key, retired ones included, oldest first. */
  list(): Promise<SigningKeyRecord[]>;
  /** Retires a key: NotFoundError when unknown, ConflictError when it is the active key. */
  retire(kid: string, at: number): Promise<"retired" | "already-retired">;
}

/** Tokens the gateway issued (their claims, never the token). Revocations move the "tokens" version. */
export interface TokenRepository {
  /** Records an issued token; ConflictError when the jti is taken. */
  add(token: TokenRecord): Promise<void>;
  get(jti: string): Promise<TokenRecord | undefined>;
  /** Every recorded token, newest first. */
  list(): Promise<TokenRecord[]>;
  /** Revokes a token: NotFoundError when no token has that jti. */
  revoke(jti: string, at: number): Promise<"revoked" | "already-revoked">;
  /** Revokes every token of a subject that is neither revoked nor expired at `at`; returns their jtis. */
  revokeAllFor(subject: string, at: number): Promise<string[]>;
  /** The jtis of revoked tokens that expire after `after` (earlier ones are refused as expired anyway). */
  revokedJtis(after: number): Promise<string[]>;
}

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
  close(): Promise<void>;
}
