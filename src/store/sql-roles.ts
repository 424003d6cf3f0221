import { ConflictError, NotFoundError } from "../errors.ts";
import { type Condition, type Permission, formatPermission, parsePermission } from "../policy/permission.ts";
import type { Effect, PolicySnapshot, RoleDefinition, RoleRule } from "../policy/policy.ts";
import { type RoleChange, type RoleRepository, type StoredRole, assertRoleName, assertSubject } from "../policy/role-repository.ts";
import { bumpChange } from "./sql-changes.ts";
import type { SqlDriver, SqlExecutor } from "./sql-driver.ts";

interface RuleRow {
  role: string;
  effect: Effect;
  pattern: string;
  conditions: string | null;
}

function toPermission(row: RuleRow): Permission {
  return { ...parsePermission(row.pattern), conditions: row.conditions ? (JSON.parse(row.conditions) as Condition[]) : [] };
}

/** Stores a rule as its pattern without conditions plus the conditions as JSON (how load reads it back). */
async function insertRule(tx: SqlExecutor, role: string, rule: RoleRule): Promise<void> {
  const base = formatPermission({ ...rule.permission, conditions: [] });
  const conditions = rule.permission.conditions.length > 0 ? JSON.stringify(rule.permission.conditions) : null;
  await tx.execute("INSERT INTO role_permissions (role, effect, pattern, conditions) VALUES ($1, $2, $3, $4)", [role, rule.effect, base, conditions]);
}

export class SqlRoleRepository implements RoleRepository {
  constructor(private readonly driver: SqlDriver) {}

  async create(role: RoleDefinition): Promise<void> {
    assertRoleName(role.name);
    await this.driver.transaction(async (tx) => {
      if ((await tx.query("SELECT name FROM roles WHERE name = $1", [role.name])).length > 0) {
        throw new ConflictError(
          `role "${role.name}" already exists`,
          `see it with: mcpgw role show ${role.name}; change it with: mcpgw role update ${role.name} --allow/--deny/--remove-rule PATTERN`,
        );
      }
      const now = Date.now();
      await tx.execute("INSERT INTO roles (name, description, created_at, updated_at) VALUES ($1, $2, $3, $4)", [
        role.name,
        role.description ?? null,
        now,
        now,
      ]);
      for (const rule of role.rules) await insertRule(tx, role.name, rule);
      await bumpChange(this.driver, tx, "policy");
    });
  }

  async update(name: string, change: RoleChange): Promise<StoredRole> {
    await this.driver.transaction(async (tx) => {
      // The row lock makes two updates of one role take turns (SQLite transactions already do).
      const lock = this.driver.dialect === "postgres" ? " FOR UPDATE" : "";
      if ((await tx.query(`SELECT name FROM roles WHERE name = $1${lock}`, [name])).length === 0) {
        throw new NotFoundError(
          `there is no role "${name}"`,
          `list the roles with: mcpgw role list; or create it: mcpgw role create ${name} --allow 'BACKEND/TOOL'`,
        );
      }
      const rows = await tx.query<RuleRow & { id: number }>("SELECT id, role, effect, pattern, conditions FROM role_permissions WHERE role = $1 ORDER BY id", [
        name,
      ]);
      let rules = rows.map((row) => ({ id: row.id, effect: row.effect, text: formatPermission(toPermission(row)) }));
      let changed = false;
      for (const pattern of change.removeRules ?? []) {
        const text = formatPermission(parsePermission(pattern));
        const matching = rules.filter((rule) => rule.text === text);
        if (matching.length === 0) {
          throw new NotFoundError(`role "${name}" has no rule "${text}"`, `see its rules with: mcpgw role show ${name} (give the pattern as shown there)`);
        }
        for (const rule of matching) await tx.execute("DELETE FROM role_permissions WHERE id = $1", [rule.id]);
        rules = rules.filter((rule) => rule.text !== text);
        changed = true;
      }
      for (const rule of change.addRules ?? []) {
        const text = formatPermission(rule.permission);
        if (rules.some((existing) => existing.effect === rule.effect && existing.text === text)) continue;
        await insertRule(tx, name, rule);
        rules.push({ id: -1, effect: rule.effect, text });
        changed = true;
      }
      if (change.description !== undefined) {
        await tx.execute("UPDATE roles SET description = $2 WHERE name = $1", [name, change.description === "" ? null : change.description]);
        changed = true;
      }
      if (changed) {
        await tx.execute("UPDATE roles SET updated_at = $2 WHERE name = $1", [name, Date.now()]);
        await bumpChange(this.driver, tx, "policy");
      }
    });
    return (await this.get(name))!;
  }

  async get(name: string): Promise<StoredRole | undefined> {
    return (await this.load(name))[0];
  }

  list(): Promise<StoredRole[]> {
    return this.load();
  }

  async delete(name: string): Promise<void> {
    await this.driver.transaction(async (tx) => {
      // Explicit deletes rather than relying on ON DELETE CASCADE alone: both dialects, same result.
      await tx.execute("DELETE FROM role_permissions WHERE role = $1", [name]);
      await tx.execute("DELETE FROM role_bindings WHERE role = $1", [name]);
      if ((await tx.execute("DELETE FROM roles WHERE name = $1", [name])) === 0) {
        throw new NotFoundError(`there is no role "${name}"`, "list the roles with: mcpgw role list");
      }
      await bumpChange(this.driver, tx, "policy");
    });
  }

  async grant(role: string, subject: string): Promise<void> {
    assertSubject(subject);
    await this.driver.transaction(async (tx) => {
      if ((await tx.query("SELECT name FROM roles WHERE name = $1", [role])).length === 0) {
        throw new NotFoundError(`there is no role "${role}"`, `create it first: mcpgw role create ${role} --allow 'BACKEND/TOOL'`);
      }
      const inserted = await tx.execute("INSERT INTO role_bindings (role, subject, created_at) VALUES ($1, $2, $3) ON CONFLICT (role, subject) DO NOTHING", [
        role,
        subject,
        Date.now(),
      ]);
      if (inserted > 0) await bumpChange(this.driver, tx, "policy");
    });
  }

  async revoke(role: string, subject: string): Promise<void> {
    await this.driver.transaction(async (tx) => {
      if ((await tx.execute("DELETE FROM role_bindings WHERE role = $1 AND subject = $2", [role, subject])) === 0) {
        throw new NotFoundError(`subject "${subject}" does not have role "${role}"`, `see who has it with: mcpgw role show ${role}`);
      }
      await bumpChange(this.driver, tx, "policy");
    });
  }

  async snapshot(): Promise<PolicySnapshot> {
    const roles = await this.load();
    return { roles, bindings: roles.flatMap((role) => role.subjects.map((subject) => ({ role: role.name, subject }))) };
  }

  private async load(name?: string): Promise<StoredRole[]> {
    const where = name === undefined ? "" : " WHERE name = $1";
    const params = name === undefined ? [] : [name];
    const roles = await this.driver.query<{ name: string; description: string | null; created_at: number }>(
      `SELECT name, description, created_at FROM roles${where} ORDER BY name`,
      params,
    );
    if (roles.length === 0) return [];
    const roleWhere = name === undefined ? "" : " WHERE role = $1";
    const rules = await this.driver.query<RuleRow>(`SELECT role, effect, pattern, conditions FROM role_permissions${roleWhere} ORDER BY id`, params);
    const grants = await this.driver.query<{ role: string; subject: string }>(`SELECT role, subject FROM role_bindings${roleWhere} ORDER BY subject`, params);
    return roles.map((row) => ({
      name: row.name,
      ...(row.description !== null && { description: row.description }),
      rules: rules.filter((r) => r.role === row.name).map((r) => ({ effect: r.effect, permission: toPermission(r) })),
      subjects: grants.filter((g) => g.role === row.name).map((g) => g.subject),
      createdAt: row.created_at,
    }));
  }
}
