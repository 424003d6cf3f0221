import { NotFoundError } from "../errors.ts";
import { globToRegExp } from "./glob.ts";
import { formatPermission } from "./permission.ts";
import type { RoleDefinition, RoleRule } from "./policy.ts";
import type { RoleRepository } from "./role-repository.ts";

/**
 * What roles and tokens refer to, checked where they are written (the CLI) and afterwards (the
 * doctor): a pattern naming a backend that is not registered matches nothing, and a token
 * carrying a role that does not exist is granted nothing by it.
 */

/** A rule whose backend part names no registered backend. */
export interface DanglingPattern {
  effect: RoleRule["effect"];
  pattern: string;
  backend: string;
}

/**
 * The rules whose backend part matches no registered backend. A bare `*` is never dangling (it
 * is meant for whatever backends there are); any other glob is, when nothing matches it.
 */
export function danglingPatterns(rules: readonly RoleRule[], backends: Iterable<string>): DanglingPattern[] {
  const names = [...backends];
  return rules
    .filter((rule) => rule.permission.backend !== "*" && !names.some((name) => globToRegExp(rule.permission.backend).test(name)))
    .map((rule) => ({ effect: rule.effect, pattern: formatPermission(rule.permission), backend: rule.permission.backend }));
}

/** One line per dangling pattern, for a warning. */
export function describeDangling(dangling: DanglingPattern): string {
  const what = /[*?]/.test(dangling.backend) ? `matches no registered backend` : `names backend "${dangling.backend}", which is not registered`;
  return `${dangling.effect} ${dangling.pattern} ${what}`;
}

/** The role grants every tool of every backend: an allow rule of `*` without conditions. */
export function allowsEverything(role: Pick<RoleDefinition, "rules">): boolean {
  return role.rules.some((rule) => rule.effect === "allow" && rule.permission.conditions.length === 0 && formatPermission(rule.permission) === "*");
}

/** The names among `roles` that no role in the store has. */
export async function unknownRoles(store: { readonly roles: RoleRepository }, roles: readonly string[]): Promise<string[]> {
  const known = new Set((await store.roles.list()).map((role) => role.name));
  return [...new Set(roles)].filter((role) => !known.has(role));
}

/** Refuses to mint a token with a role that does not exist: the token would be refused everything that role was meant to allow. */
export async function assertRolesExist(store: { readonly roles: RoleRepository }, roles: readonly string[]): Promise<void> {
  const unknown = await unknownRoles(store, roles);
  if (unknown.length === 0) return;
  const named = unknown.map((role) => `"${role}"`).join(", ");
  throw new NotFoundError(
    `no role named ${named}: a token with ${unknown.length === 1 ? "it" : "them"} would be refused everything ${unknown.length === 1 ? "it was" : "they were"} meant to allow`,
    `mcpgw role list shows the roles; mcpgw role create ${unknown[0]} --allow 'BACKEND/TOOL' makes one`,
  );
}
