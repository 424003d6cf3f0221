import { ConflictError, NotFoundError } from "../errors.ts";
import { type GcraRate, type GcraTake, gcraTake } from "../limits/gcra.ts";
import type { LimitRule, LimitScope } from "../limits/limit-rule.ts";
import type { LimitCounter, LimitRepository, LimitSetOutcome } from "../limits/limit-repository.ts";
import { bumpChange } from "./sql-changes.ts";
import type { SqlDriver, SqlExecutor } from "./sql-driver.ts";

interface RuleRow {
  id: string;
  scope: LimitScope;
  scope_value: string | null;
  tool_pattern: string | null;
  rate_count: number;
  rate_period_ms: number;
  burst: number;
  created_at: number;
}

const RULE_COLUMNS = "id, scope, scope_value, tool_pattern, rate_count, rate_period_ms, burst, created_at";

function fromRow(row: RuleRow): LimitRule {
  return {
    id: row.id,
    scope: row.scope,
    ...(row.scope_value !== null && { scopeValue: row.scope_value }),
    ...(row.tool_pattern !== null && { toolPattern: row.tool_pattern }),
    count: Number(row.rate_count),
    periodMs: Number(row.rate_period_ms),
    burst: Number(row.burst),
    createdAt: Number(row.created_at),
  };
}

/** Rules of one scope: the same whom (subject, role or everyone), tool pattern and period. */
export function sameLimitScope(a: LimitRule, b: LimitRule): boolean {
  return a.scope === b.scope && a.scopeValue === b.scopeValue && a.toolPattern === b.toolPattern && a.periodMs === b.periodMs;
}

export class SqlLimitRepository implements LimitRepository {
  constructor(private readonly driver: SqlDriver) {}

  async set(rule: LimitRule): Promise<LimitSetOutcome> {
    return this.driver.transaction(async (tx) => {
      // Two `limit set`s of one scope at once must not both insert (SQLite transactions already take turns).
      if (this.driver.dialect === "postgres") await tx.execute("LOCK TABLE rate_limit_rules IN SHARE ROW EXCLUSIVE MODE");
      const rows = await tx.query<RuleRow>(`SELECT ${RULE_COLUMNS} FROM rate_limit_rules ORDER BY created_at, id`);
      const replaced = rows.map(fromRow).filter((existing) => sameLimitScope(existing, rule));
      const [kept, ...duplicates] = replaced;
      let inForce = rule;
      if (kept) {
        inForce = { ...rule, id: kept.id, createdAt: kept.createdAt };
        await tx.execute("UPDATE rate_limit_rules SET rate_count = $2, burst = $3 WHERE id = $1", [kept.id, rule.count, rule.burst]);
        for (const duplicate of duplicates) await deleteRule(tx, duplicate.id);
      } else {
        await insertRule(tx, rule);
      }
      await bumpChange(this.driver, tx, "limits");
      return { rule: inForce, replaced };
    });
  }

  async update(id: string, change: Pick<LimitRule, "count" | "periodMs" | "burst">): Promise<LimitRule> {
    return this.driver.transaction(async (tx) => {
      if (this.driver.dialect === "postgres") await tx.execute("LOCK TABLE rate_limit_rules IN SHARE ROW EXCLUSIVE MODE");
      const rules = (await tx.query<RuleRow>(`SELECT ${RULE_COLUMNS} FROM rate_limit_rules ORDER BY created_at, id`)).map(fromRow);
      const current = rules.find((rule) => rule.id === id);
      if (!current) throw new NotFoundError(`there is no limit rule "${id}"`, "list the rules with: mcpgw limit list");
      const updated = { ...current, ...change };
      const twin = rules.find((rule) => rule.id !== id && sameLimitScope(rule, updated));
      if (twin) {
        throw new ConflictError(
          `rule ${twin.id} already limits the same callers${twin.toolPattern ? ` on ${twin.toolPattern}` : ""} over the same period`,
          `change that one (mcpgw limit update ${twin.id} …) or remove it (mcpgw limit remove ${twin.id})`,
        );
      }
      await tx.execute("UPDATE rate_limit_rules SET rate_count = $2, rate_period_ms = $3, burst = $4 WHERE id = $1", [
        id,
        updated.count,
        updated.periodMs,
        updated.burst,
      ]);
      await bumpChange(this.driver, tx, "limits");
      return updated;
    });
  }

  async add(rule: LimitRule): Promise<void> {
    await this.driver.transaction(async (tx) => {
      await insertRule(tx, rule);
      await bumpChange(this.driver, tx, "limits");
    });
  }

  async list(): Promise<LimitRule[]> {
    const rows = await this.driver.query<RuleRow>(`SELECT ${RULE_COLUMNS} FROM rate_limit_rules ORDER BY created_at, id`);
    return rows.map(fromRow);
  }

  async remove(id: string): Promise<void> {
    await this.driver.transaction(async (tx) => {
      if (!(await deleteRule(tx, id))) throw new NotFoundError(`there is no limit rule "${id}"`, "list the rules with: mcpgw limit list");
      await bumpChange(this.driver, tx, "limits");
    });
  }

  lease(key: string, rate: GcraRate, want: number, now: number): Promise<GcraTake> {
    return this.driver.transaction(async (tx) => {
      // Insert-then-lock, so two processes leasing a new key never both start from zero.
      await tx.execute("INSERT INTO rate_limit_counters (key, value, updated_at) VALUES ($1, 0, $2) ON CONFLICT (key) DO NOTHING", [key, now]);
      const lock = this.driver.dialect === "postgres" ? " FOR UPDATE" : "";
      const rows = await tx.query<{ value: number }>(`SELECT value FROM rate_limit_counters WHERE key = $1${lock}`, [key]);
      const take = gcraTake(Number(rows[0]?.value ?? 0), now, rate, want);
      if (take.granted > 0) await tx.execute("UPDATE rate_limit_counters SET value = $1, updated_at = $2 WHERE key = $3", [Math.ceil(take.tat), now, key]);
      return take;
    });
  }

  async spentCounters(now: number): Promise<LimitCounter[]> {
    const rows = await this.driver.query<{ key: string; value: number | string }>("SELECT key, value FROM rate_limit_counters WHERE value > $1 ORDER BY key", [
      now,
    ]);
    return rows.map((row) => ({ key: row.key, tat: Number(row.value) }));
  }
}

async function insertRule(tx: SqlExecutor, rule: LimitRule): Promise<void> {
  await tx.execute(`INSERT INTO rate_limit_rules (${RULE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, [
    rule.id,
    rule.scope,
    rule.scopeValue ?? null,
    rule.toolPattern ?? null,
    rule.count,
    rule.periodMs,
    rule.burst,
    rule.createdAt,
  ]);
}

/** Deletes a rule and its counters; false when there was no such rule. */
async function deleteRule(tx: SqlExecutor, id: string): Promise<boolean> {
  if ((await tx.execute("DELETE FROM rate_limit_rules WHERE id = $1", [id])) === 0) return false;
  await tx.execute("DELETE FROM rate_limit_counters WHERE key = $1 OR key LIKE $2", [id, `${id}:%`]);
  return true;
}
