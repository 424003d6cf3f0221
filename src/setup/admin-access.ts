import { formatPermission, parsePermission } from "../policy/permission.ts";
import type { RoleRule } from "../policy/policy.ts";
import type { StoredRole } from "../policy/role-repository.ts";
import type { Store } from "../store/store.ts";

/** Every tool, resource, prompt and other method of every backend, and the admin API: what an admin role allows. */
export const FULL_ACCESS_PATTERNS = ["*", "resource:*", "prompt:*", "method:*", "admin:*"] as const;

const FULL_ACCESS_RULES: RoleRule[] = FULL_ACCESS_PATTERNS.map((pattern) => ({ effect: "allow", permission: parsePermission(pattern) }));
const DESCRIPTION = "full access to every backend and the admin API (created by mcpgw init)";

/** Whether an existing role is already exactly the admin role init would create, so it can be reused as is. */
export function grantsFullAccess(role: StoredRole): boolean {
  const rules = role.rules.map((rule) => `${rule.effect} ${formatPermission(rule.permission)}`).sort();
  const wanted = FULL_ACCESS_RULES.map((rule) => `${rule.effect} ${formatPermission(rule.permission)}`).sort();
  return rules.length === wanted.length && rules.every((rule, i) => rule === wanted[i]);
}

/** The rules of a role as one line, for a question or an error about it. */
export function describeRules(role: StoredRole): string {
  if (role.rules.length === 0) return "no rules";
  return role.rules.map((rule) => `${rule.effect} ${formatPermission(rule.permission)}`).join(", ");
}

export type AdminRoleOutcome = "created" | "reused" | "replaced";

/**
 * Makes `name` the full-access role: creates it, reuses it when it already is one, or (when
 * `replace` is set, which the operator confirmed) replaces its rules while keeping its grants.
 */
export async function ensureAdminRole(store: Store, name: string, replace: boolean): Promise<AdminRoleOutcome> {
  const existing = await store.roles.get(name);
  if (existing && grantsFullAccess(existing)) return "reused";
  if (existing && !replace) throw new Error(`role "${name}" exists and replacing it was not confirmed`);
  if (existing) {
    // The repository has no "update rules": delete and create again, then give the grants back.
    await store.roles.delete(name);
    await store.roles.create({ name, rules: FULL_ACCESS_RULES, description: existing.description ?? DESCRIPTION });
    for (const subject of existing.subjects) await store.roles.grant(name, subject);
    return "replaced";
  }
  await store.roles.create({ name, rules: FULL_ACCESS_RULES, description: DESCRIPTION });
  return "created";
}
