import type { TokenRecord } from "../auth/token-record.ts";
import type { TokenRepository } from "../auth/token-repository.ts";
import { ConflictError, NotFoundError } from "../errors.ts";
import { bumpChange } from "./sql-changes.ts";
import type { SqlDriver } from "./sql-driver.ts";

interface TokenRow {
  jti: string;
  subject: string;
  roles: string;
  description: string | null;
  issued_at: number;
  expires_at: number;
  revoked_at: number | null;
}

const COLUMNS = "jti, subject, roles, description, issued_at, expires_at, revoked_at";

function fromRow(row: TokenRow): TokenRecord {
  return {
    jti: row.jti,
    subject: row.subject,
    roles: JSON.parse(row.roles) as string[],
    ...(row.description !== null && { description: row.description }),
    issuedAt: Number(row.issued_at),
    expiresAt: Number(row.expires_at),
    ...(row.revoked_at !== null && { revokedAt: Number(row.revoked_at) }),
  };
}

export class SqlTokenRepository implements TokenRepository {
  constructor(private readonly driver: SqlDriver) {}

  async add(token: TokenRecord): Promise<void> {
    await this.driver.transaction(async (tx) => {
      const taken = await tx.query("SELECT jti FROM tokens WHERE jti = $1", [token.jti]);
      if (taken.length > 0) throw new ConflictError(`a token with jti "${token.jti}" already exists`, "issue the token again (each gets a fresh jti)");
      // Issuing moves no version: a running gateway needs to hear only about revocations.
      await tx.execute(`INSERT INTO tokens (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)`, [
        token.jti,
        token.subject,
        JSON.stringify(token.roles),
        token.description ?? null,
        token.issuedAt,
        token.expiresAt,
        token.revokedAt ?? null,
      ]);
    });
  }

  async get(jti: string): Promise<TokenRecord | undefined> {
    const rows = await this.driver.query<TokenRow>(`SELECT ${COLUMNS} FROM tokens WHERE jti = $1`, [jti]);
    return rows[0] && fromRow(rows[0]);
  }

  async list(): Promise<TokenRecord[]> {
    const rows = await this.driver.query<TokenRow>(`SELECT ${COLUMNS} FROM tokens ORDER BY issued_at DESC, jti`);
    return rows.map(fromRow);
  }

  async revoke(jti: string, at: number): Promise<"revoked" | "already-revoked"> {
    return this.driver.transaction(async (tx) => {
      const rows = await tx.query<{ revoked_at: number | null }>("SELECT revoked_at FROM tokens WHERE jti = $1", [jti]);
      if (rows.length === 0) throw new NotFoundError(`there is no token with jti "${jti}"`, "list the tokens with: mcpgw token list");
      if (rows[0]!.revoked_at !== null) return "already-revoked";
      await tx.execute("UPDATE tokens SET revoked_at = $1 WHERE jti = $2", [at, jti]);
      await bumpChange(this.driver, tx, "tokens");
      return "revoked";
    });
  }

  async revokeAllFor(subject: string, at: number): Promise<string[]> {
    return this.driver.transaction(async (tx) => {
      const rows = await tx.query<{ jti: string }>(
        "UPDATE tokens SET revoked_at = $1 WHERE subject = $2 AND revoked_at IS NULL AND expires_at > $1 RETURNING jti",
        [at, subject],
      );
      if (rows.length > 0) await bumpChange(this.driver, tx, "tokens");
      return rows.map((row) => row.jti).sort();
    });
  }

  async revokedJtis(after: number): Promise<string[]> {
    const rows = await this.driver.query<{ jti: string }>("SELECT jti FROM tokens WHERE revoked_at IS NOT NULL AND expires_at > $1", [after]);
    return rows.map((row) => row.jti);
  }
}
