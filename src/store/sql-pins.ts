import { NotFoundError } from "../errors.ts";
import {
  type Finding,
  type ObservedDefinition,
  type PinKind,
  type PinPolicy,
  type PinRecord,
  type PinRepository,
  type PinStatus,
  type PinTransition,
  baselineKey,
  defaultPinPolicy,
} from "../pinning/pin-record.ts";
import { bumpChange } from "./sql-changes.ts";
import type { SqlDriver, SqlExecutor } from "./sql-driver.ts";

interface PolicyRow {
  backend: string;
  pin_mode: PinPolicy["pinMode"];
  drift_mode: PinPolicy["driftMode"];
  suspicious: PinPolicy["suspicious"];
  baselines: string;
  updated_at: number;
}

interface PinRow {
  backend: string;
  kind: PinKind;
  name: string;
  scope: string;
  status: PinStatus;
  pinned_hash: string | null;
  pinned_definition: string | null;
  pinned_at: number | null;
  approved_by: string | null;
  observed_hash: string | null;
  observed_definition: string | null;
  observed_at: number | null;
  findings: string;
}

const PIN_COLUMNS =
  "backend, kind, name, scope, status, pinned_hash, pinned_definition, pinned_at, approved_by, observed_hash, observed_definition, observed_at, findings";

function policyOf(row: PolicyRow): PinPolicy {
  return {
    backend: row.backend,
    pinMode: row.pin_mode,
    driftMode: row.drift_mode,
    suspicious: row.suspicious,
    baselines: JSON.parse(row.baselines) as string[],
    updatedAt: Number(row.updated_at),
  };
}

function recordOf(row: PinRow): PinRecord {
  return {
    backend: row.backend,
    kind: row.kind,
    name: row.name,
    scope: row.scope,
    status: row.status,
    ...(row.pinned_hash !== null && { pinnedHash: row.pinned_hash }),
    ...(row.pinned_definition !== null && { pinnedDefinition: JSON.parse(row.pinned_definition) as Record<string, unknown> }),
    ...(row.pinned_at !== null && { pinnedAt: Number(row.pinned_at) }),
    ...(row.approved_by !== null && { approvedBy: row.approved_by }),
    ...(row.observed_hash !== null && { observedHash: row.observed_hash }),
    ...(row.observed_definition !== null && { observedDefinition: JSON.parse(row.observed_definition) as Record<string, unknown> }),
    ...(row.observed_at !== null && { observedAt: Number(row.observed_at) }),
    findings: JSON.parse(row.findings) as Finding[],
  };
}

function transition(backend: string, kind: PinKind, name: string, from: PinTransition["from"], to: PinStatus, listed?: ObservedDefinition): PinTransition {
  return { backend, kind, name, from, to, ...(listed && { hash: listed.hash }), findings: listed?.findings ?? [] };
}

export class SqlPinRepository implements PinRepository {
  constructor(private readonly driver: SqlDriver) {}

  async policies(): Promise<PinPolicy[]> {
    const rows = await this.driver.query<PolicyRow>(
      "SELECT backend, pin_mode, drift_mode, suspicious, baselines, updated_at FROM pin_policies ORDER BY backend",
    );
    return rows.map(policyOf);
  }

  async policy(backend: string): Promise<PinPolicy> {
    await this.requireBackend(this.driver, backend);
    const rows = await this.driver.query<PolicyRow>(
      "SELECT backend, pin_mode, drift_mode, suspicious, baselines, updated_at FROM pin_policies WHERE backend = $1",
      [backend],
    );
    return rows[0] ? policyOf(rows[0]) : defaultPinPolicy(backend);
  }

  async setPolicy(backend: string, modes: Partial<Pick<PinPolicy, "pinMode" | "driftMode" | "suspicious">>, at: number): Promise<PinPolicy> {
    return this.driver.transaction(async (tx) => {
      const current = await this.lockPolicy(tx, backend);
      if (!current) throw this.noBackend(backend);
      const next = { ...current, ...modes, updatedAt: at };
      await tx.execute("UPDATE pin_policies SET pin_mode = $2, drift_mode = $3, suspicious = $4, updated_at = $5 WHERE backend = $1", [
        backend,
        next.pinMode,
        next.driftMode,
        next.suspicious,
        at,
      ]);
      await bumpChange(this.driver, tx, "pins");
      return next;
    });
  }

  async list(backend?: string): Promise<PinRecord[]> {
    const where = backend === undefined ? "" : " WHERE backend = $1";
    const rows = await this.driver.query<PinRow>(
      `SELECT ${PIN_COLUMNS} FROM definition_pins${where} ORDER BY backend, kind, name`,
      backend === undefined ? [] : [backend],
    );
    return rows.map(recordOf);
  }

  async observe(backend: string, kind: PinKind, listed: ObservedDefinition[], complete: boolean, at: number, scope = ""): Promise<PinTransition[]> {
    return this.driver.transaction(async (tx) => {
      // The policy row is locked for the whole observation: replicas seeing the same listing at once
      // record it one after the other, so the second finds nothing new (each change is audited once).
      const policy = await this.lockPolicy(tx, backend);
      if (!policy) return [];
      const transitions: PinTransition[] = [];
      let baselined = false;
      const rows = await tx.query<PinRow>(`SELECT ${PIN_COLUMNS} FROM definition_pins WHERE backend = $1 AND kind = $2`, [backend, kind]);
      const current = new Map(rows.map((row) => [row.name, row]));
      if (policy.pinMode === "tofu" && !policy.baselines.includes(baselineKey(kind, scope))) {
        // Only a complete listing is trusted: pinning one page would leave the rest "added".
        if (!complete) return [];
        for (const item of listed) {
          const row = current.get(item.name);
          if (row?.pinned_hash) continue;
          if (row) await tx.execute("DELETE FROM definition_pins WHERE backend = $1 AND kind = $2 AND name = $3", [backend, kind, item.name]);
          await this.insertPinned(tx, backend, kind, item, null, at, scope);
          current.delete(item.name);
          transitions.push(transition(backend, kind, item.name, "none", "pinned", item));
        }
        await this.addBaseline(tx, policy, baselineKey(kind, scope));
        baselined = true;
      }
      const fresh = new Set(transitions.map((t) => t.name));
      for (const item of listed) {
        if (fresh.has(item.name)) continue;
        const row = current.get(item.name);
        const findings = JSON.stringify(item.findings);
        if (row && row.pinned_hash === item.hash) {
          if (row.status === "pinned") continue;
          await tx.execute(
            "UPDATE definition_pins SET status = 'pinned', observed_hash = NULL, observed_definition = NULL, observed_at = $4, findings = $5 WHERE backend = $1 AND kind = $2 AND name = $3",
            [backend, kind, item.name, at, findings],
          );
          transitions.push(transition(backend, kind, item.name, row.status, "pinned", item));
          continue;
        }
        const status: PinStatus = row?.pinned_hash ? "changed" : "added";
        if (row && row.observed_hash === item.hash && row.status === status) continue;
        const definition = JSON.stringify(item.definition);
        if (row) {
          await tx.execute(
            "UPDATE definition_pins SET status = $4, observed_hash = $5, observed_definition = $6, observed_at = $7, findings = $8 WHERE backend = $1 AND kind = $2 AND name = $3",
            [backend, kind, item.name, status, item.hash, definition, at, findings],
          );
        } else {
          await tx.execute(
            "INSERT INTO definition_pins (backend, kind, name, scope, status, observed_hash, observed_definition, observed_at, findings) VALUES ($1, $2, $3, $4, 'added', $5, $6, $7, $8)",
            [backend, kind, item.name, scope, item.hash, definition, at, findings],
          );
        }
        transitions.push(transition(backend, kind, item.name, row?.status ?? "none", status, item));
      }
      if (complete) {
        const names = new Set(listed.map((item) => item.name));
        for (const row of rows) {
          if (names.has(row.name) || row.status === "removed" || row.scope !== scope) continue;
          // Something seen but never approved and gone again leaves nothing to keep.
          if (row.pinned_hash === null)
            await tx.execute("DELETE FROM definition_pins WHERE backend = $1 AND kind = $2 AND name = $3", [backend, kind, row.name]);
          else
            await tx.execute(
              "UPDATE definition_pins SET status = 'removed', observed_hash = NULL, observed_definition = NULL, observed_at = $4 WHERE backend = $1 AND kind = $2 AND name = $3",
              [backend, kind, row.name, at],
            );
          transitions.push(transition(backend, kind, row.name, row.status, "removed"));
        }
      }
      if (transitions.length > 0 || baselined) await bumpChange(this.driver, tx, "pins");
      return transitions;
    });
  }

  async pin(backend: string, kind: PinKind, listed: ObservedDefinition[], by: string, at: number): Promise<void> {
    await this.driver.transaction(async (tx) => {
      const policy = await this.lockPolicy(tx, backend);
      if (!policy) throw this.noBackend(backend);
      await tx.execute("DELETE FROM definition_pins WHERE backend = $1 AND kind = $2", [backend, kind]);
      for (const item of listed) await this.insertPinned(tx, backend, kind, item, by, at, "");
      await this.addBaseline(tx, policy, kind);
      await bumpChange(this.driver, tx, "pins");
    });
  }

  async approve(backend: string, by: string, at: number, name?: string): Promise<PinRecord[]> {
    return this.driver.transaction(async (tx) => {
      if (!(await this.lockPolicy(tx, backend))) throw this.noBackend(backend);
      const byName = name === undefined ? "" : " AND name = $2";
      const rows = await tx.query<PinRow>(
        `SELECT ${PIN_COLUMNS} FROM definition_pins WHERE backend = $1${byName} AND (status <> 'pinned' OR (approved_by IS NULL AND findings <> '[]')) ORDER BY kind, name`,
        name === undefined ? [backend] : [backend, name],
      );
      for (const row of rows) {
        const key = [backend, row.kind, row.name];
        if (row.status === "removed") await tx.execute("DELETE FROM definition_pins WHERE backend = $1 AND kind = $2 AND name = $3", key);
        else if (row.status === "pinned")
          await tx.execute("UPDATE definition_pins SET approved_by = $4, pinned_at = $5 WHERE backend = $1 AND kind = $2 AND name = $3", [...key, by, at]);
        else {
          await tx.execute(
            "UPDATE definition_pins SET status = 'pinned', pinned_hash = observed_hash, pinned_definition = observed_definition, pinned_at = $4, approved_by = $5, observed_hash = NULL, observed_definition = NULL WHERE backend = $1 AND kind = $2 AND name = $3",
            [...key, at, by],
          );
        }
      }
      if (rows.length > 0) await bumpChange(this.driver, tx, "pins");
      return rows.map(recordOf);
    });
  }

  private async insertPinned(
    tx: SqlExecutor,
    backend: string,
    kind: PinKind,
    item: ObservedDefinition,
    by: string | null,
    at: number,
    scope: string,
  ): Promise<void> {
    await tx.execute(
      "INSERT INTO definition_pins (backend, kind, name, scope, status, pinned_hash, pinned_definition, pinned_at, approved_by, observed_at, findings) VALUES ($1, $2, $3, $4, 'pinned', $5, $6, $7, $8, $7, $9)",
      [backend, kind, item.name, scope, item.hash, JSON.stringify(item.definition), at, by, JSON.stringify(item.findings)],
    );
  }

  private async addBaseline(tx: SqlExecutor, policy: PinPolicy, entry: string): Promise<void> {
    if (policy.baselines.includes(entry)) return;
    policy.baselines = [...policy.baselines, entry];
    await tx.execute("UPDATE pin_policies SET baselines = $2 WHERE backend = $1", [policy.backend, JSON.stringify(policy.baselines)]);
  }

  /** The backend's policy row, created with the defaults when missing, locked for the transaction; undefined when there is no such backend. */
  private async lockPolicy(tx: SqlExecutor, backend: string): Promise<PinPolicy | undefined> {
    if (!(await this.requireBackend(tx, backend, false))) return undefined;
    const fallback = defaultPinPolicy(backend);
    await tx.execute(
      "INSERT INTO pin_policies (backend, pin_mode, drift_mode, suspicious, baselines, updated_at) VALUES ($1, $2, $3, $4, '[]', $5) ON CONFLICT (backend) DO NOTHING",
      [backend, fallback.pinMode, fallback.driftMode, fallback.suspicious, Date.now()],
    );
    const lock = this.driver.dialect === "postgres" ? " FOR UPDATE" : "";
    const rows = await tx.query<PolicyRow>(
      `SELECT backend, pin_mode, drift_mode, suspicious, baselines, updated_at FROM pin_policies WHERE backend = $1${lock}`,
      [backend],
    );
    return rows[0] && policyOf(rows[0]);
  }

  private async requireBackend(executor: SqlExecutor, backend: string, strict = true): Promise<boolean> {
    const rows = await executor.query("SELECT name FROM backends WHERE name = $1", [backend]);
    if (rows.length === 0 && strict) throw this.noBackend(backend);
    return rows.length > 0;
  }

  private noBackend(backend: string): NotFoundError {
    return new NotFoundError(`there is no backend "${backend}"`, "list the backends with: mcpgw backend list");
  }
}
