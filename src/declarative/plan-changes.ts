import { createHash } from "node:crypto";
import type { BackendSpec } from "../backends/backend-spec.ts";
import type { LimitRule } from "../limits/limit-rule.ts";
import { formatPermission } from "../policy/permission.ts";
import type { RoleDefinition } from "../policy/policy.ts";
import { type PinModes, defaultPinPolicy } from "../pinning/pin-record.ts";
import type { Change, DeclaredBackend, DesiredLimit, DesiredState, GatewayState, RoleBinding } from "./gateway-state.ts";
import type { Problem } from "./problems.ts";
import type { RoleReference } from "./read-roles.ts";

export interface PlanOptions {
  /** Time stamped on what is created or updated. */
  now: number;
  /** The id of a limit rule declared without one; attempt counts up until the id is free. */
  limitId?: (rule: DesiredLimit, attempt: number) => string;
}

/**
 * The changes that turn `current` into `desired`. A section the document declares is made to
 * match exactly (objects not in it are deleted); an absent section is left alone, except that
 * deleting a role takes its grants with it. Changes come grouped by kind (roles, bindings,
 * backends, limits) in document order, deletions last in each group. Pure: no I/O.
 */
export function planChanges(current: GatewayState, desired: DesiredState, options: PlanOptions): Change[] {
  const changes: Change[] = [];
  if (desired.roles) changes.push(...planRoles(current.roles, desired.roles));
  if (desired.bindings) {
    changes.push(...planBindings(current.bindings, desired.bindings));
  } else if (desired.roles) {
    // Deleting a role deletes its grants: say so, rather than let them vanish unlisted.
    const kept = new Set(desired.roles.map((role) => role.name));
    for (const binding of current.bindings)
      if (!kept.has(binding.role)) changes.push({ kind: "binding", action: "delete", name: bindingName(binding), before: binding });
  }
  if (desired.backends) changes.push(...planBackends(current.backends, desired.backends, options.now));
  if (desired.limits) changes.push(...planLimits(current.limits, desired.limits, options));
  return changes;
}

/**
 * Problems a document has against the database: a binding whose role will not exist after the
 * apply (not in the document's roles, or not in the database when the document has no roles).
 */
export function checkReferences(references: readonly RoleReference[], current: GatewayState, desired: DesiredState): Problem[] {
  const roles = new Set((desired.roles ?? current.roles).map((role) => role.name));
  return references
    .filter((reference) => !roles.has(reference.role))
    .map(({ role, path }) => ({
      path,
      message: desired.roles ? `role "${role}" is not in this document's roles` : `there is no role "${role}"`,
      hint: desired.roles
        ? "declare it under roles: (the roles section is the whole set of roles), or remove this binding"
        : `create it first (mcpgw role create ${role}), or declare it in a roles: section`,
    }));
}

export function bindingName(binding: RoleBinding): string {
  return `${binding.role} → ${binding.subject}`;
}

function planRoles(current: RoleDefinition[], desired: RoleDefinition[]): Change[] {
  const byName = new Map(current.map((role) => [role.name, role]));
  const changes: Change[] = [];
  for (const role of desired) {
    const before = byName.get(role.name);
    byName.delete(role.name);
    if (!before) {
      changes.push({ kind: "role", action: "create", name: role.name, after: role });
      continue;
    }
    const fields = [
      (before.description ?? null) !== (role.description ?? null) && "description",
      !sameList(before.rules.map(ruleText), role.rules.map(ruleText)) && "permissions",
    ].filter((field): field is string => field !== false);
    if (fields.length > 0) changes.push({ kind: "role", action: "update", name: role.name, before, after: role, fields });
  }
  for (const role of byName.values()) changes.push({ kind: "role", action: "delete", name: role.name, before: role });
  return changes;
}

/** Rules compare in their canonical text, in order (the order decides which allow an audit record names). */
function ruleText(rule: RoleDefinition["rules"][number]): string {
  return `${rule.effect} ${formatPermission(rule.permission)}`;
}

function planBindings(current: RoleBinding[], desired: RoleBinding[]): Change[] {
  const key = (binding: RoleBinding) => JSON.stringify([binding.role, binding.subject]);
  const existing = new Set(current.map(key));
  const wanted = new Set(desired.map(key));
  return [
    ...desired
      .filter((binding) => !existing.has(key(binding)))
      .map((binding): Change => ({ kind: "binding", action: "create", name: bindingName(binding), after: binding })),
    ...current
      .filter((binding) => !wanted.has(key(binding)))
      .map((binding): Change => ({ kind: "binding", action: "delete", name: bindingName(binding), before: binding })),
  ];
}

function planBackends(current: DeclaredBackend[], desired: DeclaredBackend[], now: number): Change[] {
  const byName = new Map(current.map((backend) => [backend.name, backend]));
  const changes: Change[] = [];
  for (const spec of desired) {
    const before = byName.get(spec.name);
    byName.delete(spec.name);
    if (!before) {
      changes.push({ kind: "backend", action: "create", name: spec.name, after: { ...spec, createdAt: now, updatedAt: now } });
      continue;
    }
    const fields = backendFields(before, spec);
    if (fields.length > 0)
      changes.push({ kind: "backend", action: "update", name: spec.name, before, after: { ...spec, createdAt: before.createdAt, updatedAt: now }, fields });
  }
  for (const backend of byName.values()) changes.push({ kind: "backend", action: "delete", name: backend.name, before: backend });
  return changes;
}

/**
 * The document fields in which two backends differ (env and headers compare as sets of entries).
 * Pinning modes the document leaves out are left as they are, so only those it gives compare.
 */
function backendFields(a: DeclaredBackend, b: DeclaredBackend): string[] {
  return [...specFields(a, b), ...pinningFields(a, b)];
}

const PIN_MODE_FIELDS = ["pinMode", "driftMode", "suspicious"] as const satisfies readonly (keyof PinModes)[];

/** `pinning.driftMode`…: the modes `b` gives that differ from `a`'s (the defaults when `a` has none). */
function pinningFields(a: DeclaredBackend, b: DeclaredBackend): string[] {
  const before = { ...defaultPinPolicy(a.name), ...a.pinning };
  return PIN_MODE_FIELDS.filter((mode) => b.pinning?.[mode] !== undefined && b.pinning[mode] !== before[mode]).map((mode) => `pinning.${mode}`);
}

/** Whether the fields differ in the spec (the backends row), not only in pinning. */
export function changesSpec(fields: readonly string[]): boolean {
  return fields.some((field) => !field.startsWith("pinning."));
}

function specFields(a: BackendSpec, b: BackendSpec): string[] {
  const checks: [string, boolean][] = [
    ["transport", a.transport === b.transport],
    ["url", a.url === b.url],
    ["command", sameList(a.command ?? [], b.command ?? []) && (a.command === undefined) === (b.command === undefined)],
    ["env", sameMap(a.env, b.env)],
    ["headers", sameMap(a.headers, b.headers)],
    ["timeout", a.timeoutMs === b.timeoutMs],
    ["limits", sameMap(a.limits ?? {}, b.limits ?? {})],
    // A set of globs: their order means nothing.
    ["idempotentTools", sameList([...(a.idempotentTools ?? [])].sort(), [...(b.idempotentTools ?? [])].sort())],
    ["auth", sameMap(a.auth ?? {}, b.auth ?? {})],
  ];
  return checks.filter(([, same]) => !same).map(([field]) => field);
}

/**
 * Rules declared with an id are matched by id; the others by content, against the rules no id
 * claimed, so a document without ids applies as a no-op the second time. What is left is deleted.
 */
function planLimits(current: LimitRule[], desired: DesiredLimit[], options: PlanOptions): Change[] {
  const claimed = new Set(desired.flatMap((rule) => (rule.id === undefined ? [] : [rule.id])));
  const byId = new Map(current.map((rule) => [rule.id, rule]));
  const unclaimed = current.filter((rule) => !claimed.has(rule.id));
  const limitId = options.limitId ?? contentLimitId;
  const kept = new Set<string>();
  const changes: Change[] = [];
  desired.forEach((rule, index) => {
    const before =
      rule.id === undefined ? unclaimed.find((candidate) => !kept.has(candidate.id) && limitFields(candidate, rule).length === 0) : byId.get(rule.id);
    if (before) {
      kept.add(before.id);
      const fields = limitFields(before, rule);
      if (fields.length > 0)
        changes.push({ kind: "limit", action: "update", name: before.id, before, after: { ...rule, id: before.id, createdAt: before.createdAt }, fields });
      return;
    }
    let id = rule.id;
    for (let attempt = 0; id === undefined || (rule.id === undefined && (byId.has(id) || claimed.has(id))); attempt++) id = limitId(rule, attempt);
    claimed.add(id);
    // Spaced by the document's order: `limit list` (and export) sort by creation time, so they keep it.
    changes.push({ kind: "limit", action: "create", name: id, after: { ...rule, id, createdAt: options.now + index } });
  });
  for (const rule of current) if (!kept.has(rule.id)) changes.push({ kind: "limit", action: "delete", name: rule.id, before: rule });
  return changes;
}

function limitFields(a: LimitRule | DesiredLimit, b: LimitRule | DesiredLimit): string[] {
  const fields: string[] = [];
  if (a.scope !== b.scope || a.scopeValue !== b.scopeValue) fields.push(b.scope);
  if (a.toolPattern !== b.toolPattern) fields.push("tool");
  if (a.count !== b.count || a.periodMs !== b.periodMs) fields.push("rate");
  if (a.burst !== b.burst) fields.push("burst");
  return fields;
}

/**
 * An id from the rule's content: a dry run shows the id the apply will give, and one document
 * applied to several databases names its rules alike. `attempt` separates identical rules.
 */
function contentLimitId(rule: DesiredLimit, attempt: number): string {
  const content = JSON.stringify([rule.scope, rule.scopeValue ?? null, rule.toolPattern ?? null, rule.count, rule.periodMs, rule.burst, attempt]);
  return `lim_${createHash("sha256").update(content).digest("hex").slice(0, 10)}`;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}

function sameMap(a: object, b: object): boolean {
  const entries = (value: object) => JSON.stringify(Object.entries(value).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
  return entries(a) === entries(b);
}
