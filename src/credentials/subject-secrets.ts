import type { ChangeSource } from "../changes/change-topics.ts";
import { type SecretKey, type SecretKeySettings, noSecretKeyError } from "../config/secret-key-settings.ts";
import { McpgwError, NotFoundError, UsageError } from "../errors.ts";
import { GatewayErrorCode } from "../protocol/gateway-errors.ts";
import { McpError } from "../protocol/mcp-values.ts";
import { SecretUnreadableError, openSecret, sealSecret } from "./secret-cipher.ts";
import type { SubjectSecretInfo, SubjectSecretRepository } from "./subject-secret-repository.ts";

/** A caller's secret for a backend, decrypted: what goes in the header, and the id the audit may cite. */
export interface ResolvedSecret {
  value: string;
  secretId: string;
}

/** Where the credential binder gets a caller's secret. Throws a JSON-RPC error (CredentialUnavailable) saying what an operator must do. */
export interface SubjectSecretSource {
  resolve(backend: string, subject: string): Promise<ResolvedSecret>;
}

/** Longest secret accepted (it travels in a header on every request to the backend). */
export const MAX_SECRET_BYTES = 8 * 1024;
/** Decrypted secrets kept in memory at once; beyond, the oldest are read again. */
const CACHE_ENTRIES = 10_000;

export interface RekeyReport {
  /** Rows re-encrypted with the current key. */
  rekeyed: number;
  /** Rows that already were under it (a rekey run again, or set after the rotation began). */
  current: number;
  keyId: string;
}

/**
 * Per-subject secrets: sealed here with the gateway's key before they reach the store, opened
 * here when a call needs one. What running gateways decrypted is cached until the "secrets"
 * change topic moves (a secret set, removed or rekeyed anywhere), so a change applies within the
 * change watcher's interval, and a call costs no database read or decryption while nothing changed.
 */
export class SubjectSecrets implements SubjectSecretSource {
  private readonly cache = new Map<string, ResolvedSecret | "missing">();
  /** Moves on every change: a read that started before it is not cached (it may hold the old value). */
  private generation = 0;

  constructor(
    private readonly repository: SubjectSecretRepository,
    private readonly keys: SecretKeySettings,
    changes?: ChangeSource,
  ) {
    changes?.on("secrets", async () => {
      this.generation += 1;
      this.cache.clear();
    });
  }

  /** Encrypts and stores `value` as `subject`'s secret for `backend` (replacing any), under a new secret id. */
  async set(backend: string, subject: string, value: string, now = Date.now()): Promise<SubjectSecretInfo> {
    assertSubject(subject);
    assertSecretValue(value);
    const key = this.currentKey("mcpgw secret set");
    const existing = await this.repository.get(backend, subject);
    const info: SubjectSecretInfo = {
      backend,
      subject,
      secretId: `sec_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`,
      keyId: key.id,
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    };
    await this.repository.put({ ...info, ...sealSecret(key, backend, subject, value) });
    return info;
  }

  list(backend?: string): Promise<SubjectSecretInfo[]> {
    return this.repository.list(backend);
  }

  async remove(backend: string, subject: string): Promise<void> {
    if (!(await this.repository.remove(backend, subject))) {
      throw new NotFoundError(`there is no secret of subject "${subject}" for backend "${backend}"`, `list them with: mcpgw secret list ${backend}`);
    }
  }

  /**
   * Re-encrypts every secret with the current key, in one transaction: rows under the previous key
   * (MCPGW_SECRET_KEY_OLD) are decrypted with it; rows already under the current key are left as
   * they are, so running it again is harmless. A row under any other key fails the whole rekey.
   */
  async rekey(): Promise<RekeyReport> {
    const key = this.currentKey("mcpgw secret rekey");
    const readable = [key, ...(this.keys.previous ? [this.keys.previous] : [])];
    let current = 0;
    const rekeyed = await this.repository.reseal((secret) => {
      if (secret.keyId === key.id) {
        current += 1;
        return undefined;
      }
      if (!readable.some((candidate) => candidate.id === secret.keyId)) {
        throw new SecretUnreadableError(
          `the secret of subject "${secret.subject}" for backend "${secret.backend}" is under key ${secret.keyId}, and the old key given is ${this.keys.previous?.id ?? "none"}: nothing was re-encrypted`,
          "give the key it was encrypted with as MCPGW_SECRET_KEY_OLD (or MCPGW_SECRET_KEY_OLD_FILE), the new one as MCPGW_SECRET_KEY, and run mcpgw secret rekey again",
        );
      }
      return sealSecret(key, secret.backend, secret.subject, openSecret(readable, secret.backend, secret.subject, secret));
    });
    return { rekeyed, current, keyId: key.id };
  }

  async resolve(backend: string, subject: string): Promise<ResolvedSecret> {
    const cacheKey = `${backend}\u0000${subject}`;
    let found = this.cache.get(cacheKey);
    if (found === undefined) {
      const generation = this.generation;
      found = await this.read(backend, subject);
      if (generation === this.generation) {
        if (this.cache.size >= CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
        this.cache.set(cacheKey, found);
      }
    }
    if (found === "missing") throw missingSecret(backend, subject);
    return found;
  }

  private async read(backend: string, subject: string): Promise<ResolvedSecret | "missing"> {
    const stored = await this.repository.get(backend, subject);
    if (!stored) return "missing";
    if (!this.keys.current) throw unavailable(backend, subject, noSecretKeyError(`backend "${backend}" (--auth per-subject-secret)`));
    const keys = [this.keys.current, ...(this.keys.previous ? [this.keys.previous] : [])];
    try {
      return { value: openSecret(keys, backend, subject, stored), secretId: stored.secretId };
    } catch (err) {
      if (err instanceof McpgwError) throw unavailable(backend, subject, err);
      throw err;
    }
  }

  private currentKey(command: string): SecretKey {
    if (!this.keys.current) throw noSecretKeyError(command);
    return this.keys.current;
  }
}

/** The JSON-RPC error of a call whose caller has no secret for the backend. */
export function missingSecret(backend: string, subject: string): McpError {
  const fix = `mcpgw secret set ${backend} --sub ${subject}`;
  return new McpError(
    GatewayErrorCode.CredentialUnavailable,
    `backend "${backend}" needs a secret per caller, and none is stored for subject "${subject}": an operator must run: ${fix}`,
    { backend, subject, credential: "per-subject-secret", hint: fix },
  );
}

function unavailable(backend: string, subject: string, cause: McpgwError): McpError {
  return new McpError(GatewayErrorCode.CredentialUnavailable, `backend "${backend}": ${cause.message}`, {
    backend,
    subject,
    credential: "per-subject-secret",
    ...(cause.hint !== undefined && { hint: cause.hint }),
  });
}

function assertSubject(subject: string): void {
  if (subject.trim() === "" || subject.length > 512) throw new UsageError("--sub is empty or too long", "give the subject as tokens name it, e.g. --sub alice");
}

/**
 * A secret goes in a header on every request: visible ASCII, spaces and tabs only (a line break would
 * end the header), at most MAX_SECRET_BYTES. The errors never repeat the value.
 */
export function assertSecretValue(value: string): void {
  if (value === "") throw new UsageError("the secret is empty", 'give the value on stdin, e.g. printf %s "$TOKEN" | mcpgw secret set BACKEND --sub SUBJECT');
  if (value.length > MAX_SECRET_BYTES)
    throw new UsageError(`the secret is longer than ${MAX_SECRET_BYTES} bytes`, "it is sent in a header on every request: give a token, not a file");
  if (!/^[\x20-\x7e\t]+$/.test(value)) {
    throw new UsageError(
      "the secret holds a line break, a control character or a non-ASCII character, which cannot go in a header",
      "give the token alone (one trailing newline is dropped); encode binary secrets, e.g. as base64",
    );
  }
}
