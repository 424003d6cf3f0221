import type { BackendSpec } from "../backends/backend-spec.ts";
import type { MigrationStatus } from "./migrations.ts";
import type { RoleRepository } from "./sql-roles.ts";
import type { Dialect } from "./sql-driver.ts";

/** Topics whose version a write bumps, so running gateways know to reload that part. */
export const CHANGE_TOPICS = ["backends", "policy", "tokens", "limits", "keys"] as const;
export type ChangeTopic = (typeof CHANGE_TOPICS)[number];

export interface BackendRepository {
  /** Adds a backend; ConflictError when the name is taken. */
  add(spec: BackendSpec): Promise<void>;
  get(name: string): Promise<BackendSpec | undefined>;
  list(): Promise<BackendSpec[]>;
  /** Removes a backend; NotFoundError when there is none by that name. */
  remove(name: string): Promise<void>;
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
  readonly changes: ChangeCounter;
  close(): Promise<void>;
}
