import { conditionsHold } from "./conditions.ts";
import { globToRegExp } from "./glob.ts";
import { type Permission, type TargetKind, formatPermission } from "./permission.ts";

export type Effect = "allow" | "deny";

export interface RoleRule {
  effect: Effect;
  permission: Permission;
}

export interface RoleDefinition {
  name: string;
  description?: string;
  rules: RoleRule[];
}

/** Everything policy depends on, as loaded from the store. */
export interface PolicySnapshot {
  roles: RoleDefinition[];
  /** subject → roles granted with `mcpgw role grant`. */
  bindings: { role: string; subject: string }[];
}

/** What a call or a list item is about. */
export interface Target {
  kind: TargetKind;
  backend: string;
  /** Tool name, resource URI, prompt name or method name, as the backend names it. */
  name: string;
}

export type Decision = { allowed: true; rule: string } | { allowed: false; rule: string };

interface CompiledRule {
  effect: Effect;
  kind: TargetKind;
  backend: RegExp;
  name: RegExp;
  conditions: Permission["conditions"];
  /** "allow github/* (role dev)", for errors and audit. */
  label: string;
}

const DEFAULT_DENY = "default deny: no allow rule of the caller's roles matches";

/**
 * A compiled policy: deny wins over allow, and nothing is allowed that no rule allows. Compiled
 * once per change of roles or bindings (every glob becomes a RegExp here), so a decision is a
 * few RegExp tests over the caller's roles' rules.
 */
export class Policy {
  private readonly rules = new Map<string, CompiledRule[]>();
  private readonly bindings = new Map<string, string[]>();

  constructor(snapshot: PolicySnapshot) {
    for (const role of snapshot.roles) {
      this.rules.set(
        role.name,
        role.rules.map((rule) => ({
          effect: rule.effect,
          kind: rule.permission.kind,
          backend: globToRegExp(rule.permission.backend),
          name: globToRegExp(rule.permission.name),
          conditions: rule.permission.conditions,
          label: `${rule.effect} ${formatPermission(rule.permission)} (role ${role.name})`,
        })),
      );
    }
    for (const { role, subject } of snapshot.bindings) {
      const roles = this.bindings.get(subject) ?? [];
      roles.push(role);
      this.bindings.set(subject, roles);
    }
  }

  /** A subject's roles: those its token carries plus those granted to it in the database. */
  rolesOf(subject: string, tokenRoles: readonly string[]): string[] {
    const granted = this.bindings.get(subject);
    if (!granted) return [...tokenRoles];
    return [...new Set([...tokenRoles, ...granted])];
  }

  /** Whether a call is allowed: a matching deny (whose conditions hold) refuses; else a matching allow whose conditions hold on `args`. */
  decide(roles: readonly string[], target: Target, args?: unknown): Decision {
    let allow: CompiledRule | undefined;
    let conditionalMiss: CompiledRule | undefined;
    for (const role of roles) {
      for (const rule of this.rules.get(role) ?? []) {
        if (rule.kind !== target.kind || !rule.backend.test(target.backend) || !rule.name.test(target.name)) continue;
        if (rule.effect === "deny") {
          // A conditional deny applies when its conditions hold ([path^="/etc/"] denies only there).
          if (conditionsHold(rule.conditions, args)) return { allowed: false, rule: rule.label };
          continue;
        }
        if (allow) continue;
        if (conditionsHold(rule.conditions, args)) allow = rule;
        else conditionalMiss ??= rule;
      }
    }
    if (allow) return { allowed: true, rule: allow.label };
    return { allowed: false, rule: conditionalMiss ? `${conditionalMiss.label}: its argument conditions do not hold` : DEFAULT_DENY };
  }

  /** Whether a list shows the target: some allow matches (conditions aside) and no deny does. */
  visible(roles: readonly string[], target: Target): boolean {
    let allowed = false;
    for (const role of roles) {
      for (const rule of this.rules.get(role) ?? []) {
        if (rule.kind !== target.kind || !rule.backend.test(target.backend) || !rule.name.test(target.name)) continue;
        if (rule.effect === "deny" && rule.conditions.length === 0) return false;
        if (rule.effect === "allow") allowed = true;
      }
    }
    return allowed;
  }
}
