import { NotFoundError, UsageError, inField } from "../errors.ts";
import { parsePermission, formatPermission } from "../policy/permission.ts";
import type { Effect, RoleRule } from "../policy/policy.ts";
import { type DanglingPattern, danglingPatterns } from "../policy/role-references.ts";
import { type RoleRepository, type StoredRole, assertRoleName, assertSubject } from "../policy/role-repository.ts";
import type { TokenRecord } from "../auth/token-record.ts";

/**
 * Roles and grants as `mcpgw role …` and the admin API (/v1/admin/roles) change them: one
 * implementation of the checks (patterns, names, "nothing to change") and of what a role looks
 * like outside the store. The callers print or answer what these return.
 */

/** What the role operations read and write. */
export interface RoleStore {
  readonly roles: RoleRepository;
  readonly backends: { list(): Promise<{ name: string }[]> };
  readonly tokens: { list(): Promise<TokenRecord[]> };
}

/** A role as shown: rules in the syntax operators write them. */
export interface RoleView {
  name: string;
  description?: string;
  allow: string[];
  deny: string[];
  subjects: string[];
  createdAt: string;
}

/** The rules of a role and the grants: what `role create` and `role update` take (named as the CLI's flags). */
export interface RoleRulesInput {
  allow?: string[];
  deny?: string[];
  description?: string;
}

export function roleView(role: StoredRole): RoleView {
  return {
    name: role.name,
    ...(role.description !== undefined && { description: role.description }),
    allow: role.rules.filter((r) => r.effect === "allow").map((r) => formatPermission(r.permission)),
    deny: role.rules.filter((r) => r.effect === "deny").map((r) => formatPermission(r.permission)),
    subjects: role.subjects,
    createdAt: new Date(role.createdAt).toISOString(),
  };
}

/** The rules of --allow and --deny, every pattern checked before anything is written (a bad one names its field: `allow[1]`). */
export function rulesOf(input: { allow?: string[]; deny?: string[] }): RoleRule[] {
  const parse = (effect: Effect, texts: string[] = []) =>
    texts.map((text, i) => ({ effect, permission: inField(`${effect}[${i}]`, () => parsePermission(text)) }));
  return [...parse("allow", input.allow), ...parse("deny", input.deny)];
}

/** The patterns among `rules` that name no registered backend (saved all the same: the backend may come later). */
export async function danglingRules(store: RoleStore, rules: RoleRule[]): Promise<DanglingPattern[]> {
  return danglingPatterns(
    rules,
    (await store.backends.list()).map((spec) => spec.name),
  );
}

/** Creates a role; returns it and the patterns that match no backend yet. */
export async function createRole(store: RoleStore, name: string, input: RoleRulesInput): Promise<{ role: StoredRole; dangling: DanglingPattern[] }> {
  inField("name", () => assertRoleName(name));
  const rules = rulesOf(input);
  await store.roles.create({ name, rules, ...(input.description !== undefined && { description: input.description }) });
  const role = await store.roles.get(name);
  if (!role) throw new NotFoundError(`role "${name}" disappeared while it was created`, "try again");
  return { role, dangling: await danglingRules(store, rules) };
}

/** What `role update` takes: rules to add, patterns to remove, a description ("" removes it). */
export interface RoleUpdateInput extends RoleRulesInput {
  removeRule?: string[];
}

/** Checks an update before the store is opened: patterns parse, and something is to change. */
export function checkRoleUpdate(name: string, input: RoleUpdateInput): RoleRule[] {
  const addRules = rulesOf(input);
  const removeRule = input.removeRule ?? [];
  removeRule.forEach((pattern, i) => inField(`removeRule[${i}]`, () => parsePermission(pattern)));
  if (addRules.length === 0 && removeRule.length === 0 && input.description === undefined) {
    throw new UsageError("nothing to change", `give --allow, --deny, --remove-rule or --description, e.g. mcpgw role update ${name} --allow 'github/get_*'`);
  }
  return addRules;
}

/** Removes, then adds rules; grants stay. Returns the role before and after, and the added patterns that match no backend. */
export async function updateRole(
  store: RoleStore,
  name: string,
  input: RoleUpdateInput,
): Promise<{ before: StoredRole; after: StoredRole; dangling: DanglingPattern[] }> {
  const addRules = checkRoleUpdate(name, input);
  const before = await requireRole(store, name);
  const after = await store.roles.update(name, {
    addRules,
    removeRules: input.removeRule ?? [],
    ...(input.description !== undefined && { description: input.description }),
  });
  return { before, after, dangling: await danglingRules(store, addRules) };
}

export async function requireRole(store: Pick<RoleStore, "roles">, name: string): Promise<StoredRole> {
  const role = await store.roles.get(name);
  if (!role) throw new NotFoundError(`there is no role "${name}"`, "list the roles with: mcpgw role list");
  return role;
}

/** What deleting a role takes with it: its grants, and live tokens left carrying a name that grants nothing. */
export async function roleDeletionConsequences(store: RoleStore, role: StoredRole, now = Date.now()): Promise<string[]> {
  const carrying = (await store.tokens.list()).filter((token) => token.revokedAt === undefined && token.expiresAt > now && token.roles.includes(role.name));
  return [
    ...(role.subjects.length > 0 ? [`revoke its grant${role.subjects.length === 1 ? "" : "s"} to ${role.subjects.join(", ")}`] : []),
    ...(carrying.length > 0
      ? [
          `leave ${carrying.length} live token${carrying.length === 1 ? "" : "s"} carrying "${role.name}" with nothing from it (${[...new Set(carrying.map((token) => token.subject))].join(", ")})`,
        ]
      : []),
  ];
}

/** Grants a role to a subject (idempotent); the role's grants before and after. */
export async function grantRole(store: RoleStore, role: string, subject: string): Promise<{ before: string[]; after: string[] }> {
  inField("subject", () => assertSubject(subject));
  // The store's refusals (no such role, no such grant) say what to do: they come first.
  const before = (await store.roles.get(role))?.subjects ?? [];
  await store.roles.grant(role, subject);
  return { before, after: (await requireRole(store, role)).subjects };
}

/** Takes a grant back (NotFoundError when the subject does not have it); the role's grants before and after. */
export async function revokeRole(store: RoleStore, role: string, subject: string): Promise<{ before: string[]; after: string[] }> {
  const before = (await store.roles.get(role))?.subjects ?? [];
  await store.roles.revoke(role, subject);
  return { before, after: (await requireRole(store, role)).subjects };
}
