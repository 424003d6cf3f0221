import type { JWK } from "jose";
import type { SigningAlgorithm } from "../config/auth-settings.ts";
import { type SigningKeyRecord, activeKey } from "../auth/signing-key.ts";
import type { SigningKeyRepository } from "../auth/signing-key-repository.ts";
import { ConflictError, NotFoundError } from "../errors.ts";
import { bumpChange } from "./sql-changes.ts";
import type { SqlDriver, SqlExecutor } from "./sql-driver.ts";

interface SigningKeyRow {
  kid: string;
  alg: string;
  public_jwk: string;
  private_jwk: string;
  created_at: number;
  retired_at: number | null;
}

const COLUMNS = "kid, alg, public_jwk, private_jwk, created_at, retired_at";

function fromRow(row: SigningKeyRow): SigningKeyRecord {
  return {
    kid: row.kid,
    alg: row.alg as SigningAlgorithm,
    publicJwk: JSON.parse(row.public_jwk) as JWK,
    privateJwk: JSON.parse(row.private_jwk) as JWK,
    createdAt: Number(row.created_at),
    ...(row.retired_at !== null && { retiredAt: Number(row.retired_at) }),
  };
}

export class SqlSigningKeyRepository implements SigningKeyRepository {
  constructor(private readonly driver: SqlDriver) {}

  async add(key: SigningKeyRecord): Promise<void> {
    await this.driver.transaction(async (tx) => {
      await this.insert(tx, key);
      await bumpChange(this.driver, tx, "keys");
    });
  }

  async addIfNoneActive(key: SigningKeyRecord): Promise<SigningKeyRecord> {
    return this.driver.transaction(async (tx) => {
      // SQLite's BEGIN IMMEDIATE already serialises writers. On Postgres (read committed) two
      // processes would both see no key and both insert: this lock makes the second one wait and
      // then see the first one's key. It conflicts only with itself, so readers are not blocked.
      if (this.driver.dialect === "postgres") await tx.execute("LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE");
      const existing = activeKey((await tx.query<SigningKeyRow>(`SELECT ${COLUMNS} FROM signing_keys WHERE retired_at IS NULL`)).map(fromRow));
      if (existing) return existing;
      await this.insert(tx, key);
      await bumpChange(this.driver, tx, "keys");
      return key;
    });
  }

  async list(): Promise<SigningKeyRecord[]> {
    const rows = await this.driver.query<SigningKeyRow>(`SELECT ${COLUMNS} FROM signing_keys ORDER BY created_at, kid`);
    return rows.map(fromRow);
  }

  async retire(kid: string, at: number): Promise<"retired" | "already-retired"> {
    return this.driver.transaction(async (tx) => {
      const keys = (await tx.query<SigningKeyRow>(`SELECT ${COLUMNS} FROM signing_keys`)).map(fromRow);
      const key = keys.find((k) => k.kid === kid);
      if (!key) throw new NotFoundError(`there is no signing key "${kid}"`, "list the keys with: mcpgw key list");
      if (key.retiredAt !== undefined) return "already-retired";
      if (activeKey(keys)?.kid === kid) {
        throw new ConflictError(
          `signing key "${kid}" is the active key: retiring it would leave nothing to sign new tokens with`,
          "run mcpgw key rotate first (tokens it signed keep working until you retire it), then retire it",
        );
      }
      await tx.execute("UPDATE signing_keys SET retired_at = $1 WHERE kid = $2", [at, kid]);
      await bumpChange(this.driver, tx, "keys");
      return "retired";
    });
  }

  private async insert(tx: SqlExecutor, key: SigningKeyRecord): Promise<void> {
    const taken = await tx.query("SELECT kid FROM signing_keys WHERE kid = $1", [key.kid]);
    if (taken.length > 0) throw new ConflictError(`signing key "${key.kid}" already exists`, "generate a new key (mcpgw key rotate)");
    await tx.execute(`INSERT INTO signing_keys (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)`, [
      key.kid,
      key.alg,
      JSON.stringify(key.publicJwk),
      JSON.stringify(key.privateJwk),
      key.createdAt,
      key.retiredAt ?? null,
    ]);
  }
}
