import { UsageError } from "../errors.ts";
import type { PolicySnapshot, RoleDefinition, RoleRule } from "./policy.ts";

/** A role as stored, with the subjects it is granted to. */
export interface StoredRole extends RoleDefinition {
  subjects: string[];
  createdAt: number;
}

/** What `role update` changes: rules to drop (by pattern, allow or deny), rules to add, a new description. */
export interface RoleChange {
  /** Patterns as operators write them (conditions included); each must match a rule of the role. */
  removeRules?: string[];
  /** Added after the existing rules; a rule the role already has (same effect and pattern) is kept once. */
  addRules?: RoleRule[];
  /** "" removes the description. */
  description?: string;
}

export interface RoleRepository {
  /** Creates a role with its rules; ConflictError when the name is taken. */
  create(role: RoleDefinition): Promise<void>;
  /**
   * Changes a role in place, grants kept, in one transaction: NotFoundError when the role does not
   * exist or a pattern to remove matches none of its rules (then nothing changes). Returns the role as it is now.
   */
  update(name: string, change: RoleChange): Promise<StoredRole>;
  get(name: string): Promise<StoredRole | undefined>;
  list(): Promise<StoredRole[]>;
  /** Deletes a role, its rules and its grants; NotFoundError when there is none. */
  delete(name: string): Promise<void>;
  /** Grants a role to a subject (idempotent); NotFoundError when the role does not exist. */
  grant(role: string, subject: string): Promise<void>;
  /** Takes a grant back; NotFoundError when the subject does not have it. */
  revoke(role: string, subject: string): Promise<void>;
  /** Every role and grant, for compiling the policy. */
  snapshot(): Promise<PolicySnapshot>;
}

const ROLE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

/** Throws a UsageError unless the name can name a role (IdP group names like "mcp-admins" fit). */
export function assertRoleName(name: string): void {
  if (!ROLE_NAME.test(name))
    throw new UsageError(`"${name}" is not a valid role name`, "use 1-64 letters, digits, and _ . : - (starting with a letter or digit)");
}

export function assertSubject(subject: string): void {
  if (subject.trim() === "" || subject.length > 256)
    throw new UsageError(`"${subject}" is not a valid subject`, "give the subject as it appears in tokens (the sub claim), 1-256 characters");
}
