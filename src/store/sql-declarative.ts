import type { DeclarativeRepository } from "../declarative/declarative-repository.ts";
import type { Change, DeclaredBackend, GatewayState } from "../declarative/gateway-state.ts";
import { changesSpec } from "../declarative/plan-changes.ts";
import { defaultPinPolicy } from "../pinning/pin-record.ts";
import { McpgwError, describeError } from "../errors.ts";
import { formatPermission } from "../policy/permission.ts";
import type { RoleDefinition } from "../policy/policy.ts";
import { assertNever } from "../assert-never.ts";
import { SqlBackendRepository } from "./sql-backends.ts";
import { bumpChange } from "./sql-changes.ts";
import type { SqlDriver, SqlExecutor } from "./sql-driver.ts";
import { SqlLimitRepository } from "./sql-limits.ts";
import { SqlPinRepository } from "./sql-pins.ts";
import { SqlRoleRepository } from "./sql-roles.ts";

// Every table apply reads and writes. Postgres: SHARE ROW EXCLUSIVE lets readers (gateways) on,
// and makes writers (another apply, a `role grant`) wait for this transaction, or this one for them.
const LOCK_TABLES = "LOCK TABLE roles, role_permissions, role_bindings, backends, pin_policies, rate_limit_rules IN SHARE ROW EXCLUSIVE MODE";

/**
 * Deletions first, dependents before what they depend on (grants before roles); then creations
 * and updates, roles before the grants that name them. The plan's own order is kept within each.
 */
const PHASES: readonly (readonly [Change["action"][], Change["kind"]])[] = [
  [["delete"], "limit"],
  [["delete"], "backend"],
  [["delete"], "binding"],
  [["delete"], "role"],
  [["create", "update"], "role"],
  [["create", "update"], "binding"],
  [["create", "update"], "backend"],
  [["create", "update"], "limit"],
];

export class SqlDeclarativeRepository implements DeclarativeRepository {
  constructor(private readonly driver: SqlDriver) {}

  snapshot(): Promise<GatewayState> {
    return this.driver.transaction(async (tx) => {
      // The default, READ COMMITTED, would let each SELECT see a different moment.
      if (this.driver.dialect === "postgres") await tx.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
      return readState(joined(this.driver, tx));
    });
  }

  async apply(plan: (current: GatewayState) => Change[] | Promise<Change[]>): Promise<Change[]> {
    try {
      return await this.driver.transaction(async (tx) => {
        if (this.driver.dialect === "postgres") await tx.execute(LOCK_TABLES);
        const inTx = joined(this.driver, tx);
        const changes = await plan(await readState(inTx));
        for (const [actions, kind] of PHASES) {
          for (const change of changes) if (change.kind === kind && actions.includes(change.action)) await execute(inTx, tx, change);
        }
        return changes;
      });
    } catch (err) {
      // Typed errors (a document problem, an unreachable database) already say what to do.
      if (err instanceof McpgwError) throw err;
      throw new McpgwError(
        `the database refused a change: ${describeError(err)}; nothing was applied (the transaction was rolled back)`,
        "run mcpgw apply --dry-run to see the plan; if the database has constraints or triggers of its own, check them",
        { cause: err },
      );
    }
  }
}

/**
 * A driver bound to an open transaction: the repositories' own transactions join it rather than
 * start one, so apply reuses their SQL (and their change bumps) inside its single transaction.
 */
function joined(driver: SqlDriver, tx: SqlExecutor): SqlDriver {
  const unsupported = () => Promise.reject(new Error("not available inside a joined transaction"));
  return {
    dialect: driver.dialect,
    query: <T>(sql: string, params?: readonly unknown[]) => tx.query<T>(sql, params),
    execute: (sql: string, params?: readonly unknown[]) => tx.execute(sql, params),
    transaction: <T>(fn: (inner: SqlExecutor) => Promise<T>) => fn(tx),
    runScript: unsupported,
    withMigrationLock: unsupported,
    ping: async () => void (await tx.query("SELECT 1")),
    close: async () => undefined,
  };
}

async function readState(driver: SqlDriver): Promise<GatewayState> {
  const roles = await new SqlRoleRepository(driver).list();
  return {
    roles: roles.map(({ name, description, rules }) => ({ name, ...(description !== undefined && { description }), rules })),
    // list() orders roles by name and each role's subjects by subject.
    bindings: roles.flatMap((role) => role.subjects.map((subject) => ({ role: role.name, subject }))),
    backends: await backendsWithPinning(driver),
    limits: await new SqlLimitRepository(driver).list(),
  };
}

/** The backends with their pinning modes (the defaults for one that has none set). */
async function backendsWithPinning(driver: SqlDriver): Promise<DeclaredBackend[]> {
  const policies = new Map((await new SqlPinRepository(driver).policies()).map((policy) => [policy.backend, policy]));
  return (await new SqlBackendRepository(driver).list()).map((spec) => {
    const { pinMode, driftMode, suspicious } = policies.get(spec.name) ?? defaultPinPolicy(spec.name);
    return { ...spec, pinning: { pinMode, driftMode, suspicious } };
  });
}

async function execute(driver: SqlDriver, tx: SqlExecutor, change: Change): Promise<void> {
  switch (change.kind) {
    case "role": {
      const roles = new SqlRoleRepository(driver);
      if (change.action === "create") return roles.create(change.after);
      if (change.action === "delete") return roles.delete(change.name);
      return updateRole(driver, tx, change.after);
    }
    case "binding": {
      const roles = new SqlRoleRepository(driver);
      if (change.action === "delete") return roles.revoke(change.before.role, change.before.subject);
      return roles.grant(change.after.role, change.after.subject);
    }
    case "backend": {
      const backends = new SqlBackendRepository(driver);
      if (change.action === "delete") return backends.remove(change.name);
      const { pinning, ...spec } = change.after;
      // Updated in place, not removed and added: the backend's pins and pinning modes go with its row.
      if (change.action === "create") await backends.add(spec);
      else if (changesSpec(change.fields)) await backends.update(spec);
      const pinningChanged = change.action === "create" || change.fields.some((field) => field.startsWith("pinning."));
      if (pinning && Object.keys(pinning).length > 0 && pinningChanged) await new SqlPinRepository(driver).setPolicy(change.name, pinning, Date.now());
      return;
    }
    case "limit": {
      // An update is remove + add under the same id: its counters start afresh, as after limit remove + limit set.
      const limits = new SqlLimitRepository(driver);
      if (change.action !== "create") await limits.remove(change.before.id);
      if (change.action !== "delete") await limits.add(change.after);
      return;
    }
    default:
      return assertNever(change);
  }
}

/**
 * Replaces a role's description and rules in place, keeping its grants and creation time (the
 * role repository can only create or delete). Rules are stored as SqlRoleRepository.create
 * stores them: the pattern without conditions, and the conditions as JSON.
 */
async function updateRole(driver: SqlDriver, tx: SqlExecutor, role: RoleDefinition): Promise<void> {
  await tx.execute("UPDATE roles SET description = $1, updated_at = $2 WHERE name = $3", [role.description ?? null, Date.now(), role.name]);
  await tx.execute("DELETE FROM role_permissions WHERE role = $1", [role.name]);
  for (const rule of role.rules) {
    const pattern = formatPermission({ ...rule.permission, conditions: [] });
    const conditions = rule.permission.conditions.length > 0 ? JSON.stringify(rule.permission.conditions) : null;
    await tx.execute("INSERT INTO role_permissions (role, effect, pattern, conditions) VALUES ($1, $2, $3, $4)", [role.name, rule.effect, pattern, conditions]);
  }
  await bumpChange(driver, tx, "policy");
}
