import { NotFoundError } from "../errors.ts";
import { type GcraRate, type GcraTake, gcraTake } from "../limits/gcra.ts";
import type { LimitRule, LimitScope } from "../limits/limit-rule.ts";
import { bumpChange } from "./sql-changes.ts";
import type { SqlDriver } from "./sql-driver.ts";

export interface LimitRepository {
  add(rule: LimitRule): Promise<void>;
  list(): Promise<LimitRule[]>;
  /** Removes a rule and its counters; NotFoundError when there is none. */
  remove(id: string): Promise<void>;
  /**
   * Atomically takes up to `want` calls from a shared GCRA bucket: the lease a gateway then
   * spends locally. Concurrent leases from any number of processes never grant more than fits.
   */
  lease(key: string, rate: GcraRate, want: number, now: number): Promise<GcraTake>;
}

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

export class SqlLimitRepository implements LimitRepository {
  constructor(private readonly driver: SqlDriver) {}

  async add(rule: LimitRule): Promise<void> {
    await this.driver.transaction(async (tx) => {
      await tx.execute(
        "INSERT INTO rate_limit_rules (id, scope, scope_value, tool_pattern, rate_count, rate_period_ms, burst, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        [rule.id, rule.scope, rule.scopeValue ?? null, rule.toolPattern ?? null, rule.count, rule.periodMs, rule.burst, rule.createdAt],
      );
      await bumpChange(this.driver, tx, "limits");
    });
  }

  async list(): Promise<LimitRule[]> {
    const rows = await this.driver.query<RuleRow>("SELECT id, scope, scope_value, tool_pattern, rate_count, rate_period_ms, burst, created_at FROM rate_limit_rules ORDER BY created_at, id");
    return rows.map((row) => ({
      id: row.id,
      scope: row.scope,
      ...(row.scope_value !== null && { scopeValue: row.scope_value }),
      ...(row.tool_pattern !== null && { toolPattern: row.tool_pattern }),
      count: Number(row.rate_count),
      periodMs: Number(row.rate_period_ms),
      burst: Number(row.burst),
      createdAt: row.created_at,
    }));
  }

  async remove(id: string): Promise<void> {
    await this.driver.transaction(async (tx) => {
      if ((await tx.execute("DELETE FROM rate_limit_rules WHERE id = $1", [id])) === 0) {
        throw new NotFoundError(`there is no limit rule "${id}"`, "list the rules with: mcpgw limit list");
      }
      await tx.execute("DELETE FROM rate_limit_counters WHERE key = $1 OR key LIKE $2", [id, `${id}:%`]);
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
}
