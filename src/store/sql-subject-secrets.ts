import { NotFoundError } from "../errors.ts";
import type { SealedSecret } from "../credentials/secret-cipher.ts";
import type { StoredSubjectSecret, SubjectSecretInfo, SubjectSecretRepository } from "../credentials/subject-secret-repository.ts";
import { bumpChange } from "./sql-changes.ts";
import type { SqlDriver } from "./sql-driver.ts";

interface SecretRow {
  backend: string;
  subject: string;
  secret_id: string;
  ciphertext: string;
  nonce: string;
  key_id: string;
  created_at: number;
  updated_at: number;
}

const INFO_COLUMNS = "backend, subject, secret_id, key_id, created_at, updated_at";
const COLUMNS = `${INFO_COLUMNS}, ciphertext, nonce`;

function infoOf(row: Omit<SecretRow, "ciphertext" | "nonce">): SubjectSecretInfo {
  return {
    backend: row.backend,
    subject: row.subject,
    secretId: row.secret_id,
    keyId: row.key_id,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function secretOf(row: SecretRow): StoredSubjectSecret {
  return { ...infoOf(row), ciphertext: row.ciphertext, nonce: row.nonce };
}

/** Per-subject secrets over SQL: ciphertext only, made by the caller (src/credentials/subject-secrets.ts). */
export class SqlSubjectSecretRepository implements SubjectSecretRepository {
  constructor(private readonly driver: SqlDriver) {}

  async put(secret: StoredSubjectSecret): Promise<void> {
    await this.driver.transaction(async (tx) => {
      const backend = await tx.query("SELECT name FROM backends WHERE name = $1", [secret.backend]);
      if (backend.length === 0) throw new NotFoundError(`there is no backend "${secret.backend}"`, "list them with: mcpgw backend list");
      await tx.execute(
        `INSERT INTO subject_secrets (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (backend, subject) DO UPDATE SET secret_id = excluded.secret_id, key_id = excluded.key_id,
           updated_at = excluded.updated_at, ciphertext = excluded.ciphertext, nonce = excluded.nonce`,
        [secret.backend, secret.subject, secret.secretId, secret.keyId, secret.createdAt, secret.updatedAt, secret.ciphertext, secret.nonce],
      );
      await bumpChange(this.driver, tx, "secrets");
    });
  }

  async get(backend: string, subject: string): Promise<StoredSubjectSecret | undefined> {
    const rows = await this.driver.query<SecretRow>(`SELECT ${COLUMNS} FROM subject_secrets WHERE backend = $1 AND subject = $2`, [backend, subject]);
    return rows[0] && secretOf(rows[0]);
  }

  async list(backend?: string): Promise<SubjectSecretInfo[]> {
    const rows =
      backend === undefined
        ? await this.driver.query<SecretRow>(`SELECT ${INFO_COLUMNS} FROM subject_secrets ORDER BY backend, subject`)
        : await this.driver.query<SecretRow>(`SELECT ${INFO_COLUMNS} FROM subject_secrets WHERE backend = $1 ORDER BY subject`, [backend]);
    return rows.map(infoOf);
  }

  async remove(backend: string, subject: string): Promise<boolean> {
    return this.driver.transaction(async (tx) => {
      const removed = await tx.execute("DELETE FROM subject_secrets WHERE backend = $1 AND subject = $2", [backend, subject]);
      if (removed > 0) await bumpChange(this.driver, tx, "secrets");
      return removed > 0;
    });
  }

  async reseal(reseal: (secret: StoredSubjectSecret) => SealedSecret | undefined): Promise<number> {
    return this.driver.transaction(async (tx) => {
      // FOR UPDATE: a secret set while the rekey runs waits for it, and is not overwritten with its old value.
      const lock = this.driver.dialect === "postgres" ? " FOR UPDATE" : "";
      const rows = await tx.query<SecretRow>(`SELECT ${COLUMNS} FROM subject_secrets ORDER BY backend, subject${lock}`);
      let changed = 0;
      for (const row of rows) {
        const sealed = reseal(secretOf(row));
        if (!sealed) continue;
        await tx.execute("UPDATE subject_secrets SET ciphertext = $3, nonce = $4, key_id = $5 WHERE backend = $1 AND subject = $2", [
          row.backend,
          row.subject,
          sealed.ciphertext,
          sealed.nonce,
          sealed.keyId,
        ]);
        changed += 1;
      }
      if (changed > 0) await bumpChange(this.driver, tx, "secrets");
      return changed;
    });
  }
}
