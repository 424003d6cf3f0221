import { formatPermission, parsePermission } from "../policy/permission.ts";
import type { Effect, RoleDefinition, RoleRule } from "../policy/policy.ts";
import { assertRoleName, assertSubject } from "../policy/role-repository.ts";
import type { FieldReader } from "./document-fields.ts";
import type { RoleBinding } from "./gateway-state.ts";
import type { Path } from "./problems.ts";

const ROLE_FIELDS = ["name", "description", "permissions"] as const;
const BINDING_FIELDS = ["role", "subjects"] as const;
const EFFECTS = ["allow", "deny"] as const satisfies readonly Effect[];

/** Where a binding entry names its role, for checks against the roles the apply will leave. */
export interface RoleReference {
  role: string;
  path: Path;
}

/** The `roles:` section: each role with its rules in the order written (the order `role show` prints). */
export function readRoles(reader: FieldReader, items: unknown[]): RoleDefinition[] {
  const roles: RoleDefinition[] = [];
  const seen = new Map<string, number>();
  items.forEach((item, index) => {
    const path = ["roles", index];
    const fields = reader.map(item, path, "a role", ROLE_FIELDS);
    if (!fields) return;
    const name = reader.text(fields.name, [...path, "name"], "the role name", { required: true });
    if (name !== undefined && reader.valid([...path, "name"], () => assertRoleName(name))) {
      const first = seen.get(name);
      if (first !== undefined) reader.report([...path, "name"], `role "${name}" is declared twice (also roles[${first}])`, "declare each role once");
      else seen.set(name, index);
    }
    const description = reader.text(fields.description, [...path, "description"], "the description");
    const rules = readPermissions(reader, fields.permissions, [...path, "permissions"]);
    if (name !== undefined && rules) roles.push({ name, ...(description !== undefined && { description }), rules });
  });
  return roles;
}

/** `permissions:` — a list of `- allow: PATTERN` / `- deny: PATTERN`, patterns exactly as `role create` takes them. */
function readPermissions(reader: FieldReader, value: unknown, path: Path): RoleRule[] | undefined {
  const items = reader.list(value, path, "permissions", []);
  if (!items) return undefined;
  const rules: RoleRule[] = [];
  const seen = new Set<string>();
  let ok = true;
  items.forEach((item, index) => {
    const at = [...path, index];
    const fields = reader.map(item, at, "a permission", EFFECTS);
    if (!fields) return void (ok = false);
    const effects = EFFECTS.filter((effect) => fields[effect] !== undefined);
    if (effects.length !== 1) {
      reader.report(
        at,
        `a permission has exactly one of allow or deny${effects.length === 0 ? "" : ", not both"}`,
        'e.g. - allow: "github/*"   or   - deny: "github/delete_*"',
      );
      return void (ok = false);
    }
    const effect = effects[0]!;
    const text = reader.text(fields[effect], [...at, effect], `the ${effect} pattern`, { required: true });
    const permission = text === undefined ? undefined : reader.check([...at, effect], () => parsePermission(text));
    if (!permission) return void (ok = false);
    const canonical = `${effect} ${formatPermission(permission)}`;
    if (seen.has(canonical)) reader.report([...at, effect], `${canonical} is listed twice in this role`, "list each permission once");
    seen.add(canonical);
    rules.push({ effect, permission });
  });
  return ok ? rules : undefined;
}

/** The `bindings:` section: `- role: R` with `subjects: [...]`, one entry per role. */
export function readBindings(reader: FieldReader, items: unknown[]): { bindings: RoleBinding[]; references: RoleReference[] } {
  const bindings: RoleBinding[] = [];
  const references: RoleReference[] = [];
  const seen = new Map<string, number>();
  items.forEach((item, index) => {
    const path = ["bindings", index];
    const fields = reader.map(item, path, "a binding", BINDING_FIELDS);
    if (!fields) return;
    const role = reader.text(fields.role, [...path, "role"], "the role", { required: true });
    if (role !== undefined && reader.valid([...path, "role"], () => assertRoleName(role))) {
      const first = seen.get(role);
      if (first !== undefined)
        reader.report([...path, "role"], `role "${role}" has two binding entries (also bindings[${first}])`, "list all its subjects in one entry");
      else seen.set(role, index);
      references.push({ role, path: [...path, "role"] });
    }
    if (fields.subjects === undefined)
      reader.report([...path, "subjects"], "subjects is required", "e.g. subjects: [alice, ci-bot] (an empty list [] grants the role to nobody)");
    const subjects = fields.subjects === undefined ? undefined : reader.list(fields.subjects, [...path, "subjects"], "subjects");
    const unique = new Set<string>();
    subjects?.forEach((value, i) => {
      const at = [...path, "subjects", i];
      const subject = reader.text(value, at, "a subject", { required: true });
      if (subject === undefined || !reader.valid(at, () => assertSubject(subject))) return;
      if (unique.has(subject)) return reader.report(at, `subject "${subject}" is listed twice`, "list each subject once");
      unique.add(subject);
      if (role !== undefined) bindings.push({ role, subject });
    });
  });
  return { bindings, references };
}
