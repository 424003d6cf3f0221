import type { BackendRepository } from "../backends/backend-repository.ts";
import type { BackendSpec, BackendTransportKind } from "../backends/backend-spec.ts";
import { ConflictError, NotFoundError } from "../errors.ts";
import { bumpChange } from "./sql-changes.ts";
import type { SqlDriver } from "./sql-driver.ts";

interface BackendRow {
  name: string;
  transport: BackendTransportKind;
  url: string | null;
  command: string | null;
  env: string;
  headers: string;
  timeout_ms: number;
  options: string;
  created_at: number;
  updated_at: number;
}

const COLUMNS = "name, transport, url, command, env, headers, timeout_ms, options, created_at, updated_at";

function fromRow(row: BackendRow): BackendSpec {
  return {
    name: row.name,
    transport: row.transport,
    ...(row.url !== null && { url: row.url }),
    ...(row.command !== null && { command: JSON.parse(row.command) as string[] }),
    env: JSON.parse(row.env) as Record<string, string>,
    headers: JSON.parse(row.headers) as Record<string, string>,
    timeoutMs: Number(row.timeout_ms),
    ...optionsOf(row.options),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

type BackendOptions = Pick<BackendSpec, "limits" | "idempotentTools" | "auth">;

/** The options column holds settings added after the first schema: limits, idempotent tools, per-caller auth. */
function optionsOf(options: string): BackendOptions {
  const parsed = JSON.parse(options || "{}") as BackendOptions;
  return {
    ...(parsed.limits && { limits: parsed.limits }),
    ...(parsed.idempotentTools && { idempotentTools: parsed.idempotentTools }),
    ...(parsed.auth && { auth: parsed.auth }),
  };
}

function optionsColumn(spec: BackendSpec): string {
  return JSON.stringify({
    ...(spec.limits && { limits: spec.limits }),
    ...(spec.idempotentTools && { idempotentTools: spec.idempotentTools }),
    ...(spec.auth && { auth: spec.auth }),
  });
}

/** The columns of a backend's settings, in COLUMNS order between name and the timestamps. */
function settingColumns(spec: BackendSpec): unknown[] {
  return [
    spec.transport,
    spec.url ?? null,
    spec.command ? JSON.stringify(spec.command) : null,
    JSON.stringify(spec.env),
    JSON.stringify(spec.headers),
    spec.timeoutMs,
    optionsColumn(spec),
  ];
}

export class SqlBackendRepository implements BackendRepository {
  constructor(private readonly driver: SqlDriver) {}

  async add(spec: BackendSpec): Promise<void> {
    await this.driver.transaction(async (tx) => {
      const taken = await tx.query("SELECT name FROM backends WHERE name = $1", [spec.name]);
      if (taken.length > 0) {
        throw new ConflictError(`backend "${spec.name}" already exists`, `change it with mcpgw backend update ${spec.name} …, or choose another name`);
      }
      await tx.execute(`INSERT INTO backends (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, [
        spec.name,
        ...settingColumns(spec),
        spec.createdAt,
        spec.updatedAt,
      ]);
      await bumpChange(this.driver, tx, "backends");
    });
  }

  async update(spec: BackendSpec, expectedUpdatedAt?: number): Promise<BackendSpec> {
    return this.driver.transaction(async (tx) => {
      const lock = this.driver.dialect === "postgres" ? " FOR UPDATE" : "";
      const rows = await tx.query<{ created_at: number; updated_at: number }>(`SELECT created_at, updated_at FROM backends WHERE name = $1${lock}`, [
        spec.name,
      ]);
      const current = rows[0];
      if (!current) throw new NotFoundError(`there is no backend "${spec.name}"`, `add it instead: mcpgw backend add ${spec.name} …`);
      if (expectedUpdatedAt !== undefined && Number(current.updated_at) !== expectedUpdatedAt) {
        throw new ConflictError(
          `backend "${spec.name}" was changed by someone else while this update ran`,
          "look at it again (mcpgw backend show), then run the update again",
        );
      }
      // Running gateways reconnect a backend whose updatedAt moved: it must move even within one millisecond.
      const updatedAt = Math.max(spec.updatedAt, Number(current.updated_at) + 1);
      await tx.execute(
        "UPDATE backends SET transport = $2, url = $3, command = $4, env = $5, headers = $6, timeout_ms = $7, options = $8, updated_at = $9 WHERE name = $1",
        [spec.name, ...settingColumns(spec), updatedAt],
      );
      await bumpChange(this.driver, tx, "backends");
      return { ...spec, createdAt: Number(current.created_at), updatedAt };
    });
  }

  async get(name: string): Promise<BackendSpec | undefined> {
    const rows = await this.driver.query<BackendRow>(`SELECT ${COLUMNS} FROM backends WHERE name = $1`, [name]);
    return rows[0] && fromRow(rows[0]);
  }

  async list(): Promise<BackendSpec[]> {
    const rows = await this.driver.query<BackendRow>(`SELECT ${COLUMNS} FROM backends ORDER BY name`);
    return rows.map(fromRow);
  }

  async remove(name: string): Promise<void> {
    await this.driver.transaction(async (tx) => {
      const removed = await tx.execute("DELETE FROM backends WHERE name = $1", [name]);
      if (removed === 0) throw new NotFoundError(`there is no backend "${name}"`, "list the backends with: mcpgw backend list");
      await bumpChange(this.driver, tx, "backends");
    });
  }
}
