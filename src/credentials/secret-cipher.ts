import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import type { SecretKey } from "../config/secret-key-settings.ts";
import { McpgwError } from "../errors.ts";

/** A secret as stored: AES-256-GCM ciphertext with its tag, the nonce, and which key made it. Base64 text, for both SQL dialects. */
export interface SealedSecret {
  ciphertext: string;
  nonce: string;
  keyId: string;
}

const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/**
 * The additional authenticated data: the row's place. A ciphertext copied to another backend or
 * subject (by someone who can write the database but holds no key) fails to decrypt there, so it
 * cannot hand one subject's credential to another.
 */
function boundTo(backend: string, subject: string): Buffer {
  return Buffer.from(`mcpgw/per-subject-secret/v1\u0000${backend}\u0000${subject}`, "utf8");
}

/** Encrypts `value` for (backend, subject) under `key`, with a fresh random nonce. */
export function sealSecret(key: SecretKey, backend: string, subject: string, value: string): SealedSecret {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key.material(), nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(boundTo(backend, subject));
  const ciphertext = Buffer.concat([cipher.update(value, "utf8"), cipher.final(), cipher.getAuthTag()]);
  return { ciphertext: ciphertext.toString("base64"), nonce: nonce.toString("base64"), keyId: key.id };
}

/** A stored secret cannot be decrypted: no key with its id is configured, or it was tampered with or moved. Never carries the value. */
export class SecretUnreadableError extends McpgwError {}

/** Decrypts a stored secret with whichever of `keys` made it. */
export function openSecret(keys: readonly SecretKey[], backend: string, subject: string, sealed: SealedSecret): string {
  const key = keys.find((candidate) => candidate.id === sealed.keyId);
  if (!key) {
    throw new SecretUnreadableError(
      `the secret of subject "${subject}" for backend "${backend}" was encrypted with key ${sealed.keyId}, which is not configured (configured: ${keys.map((k) => k.id).join(", ") || "none"})`,
      "set that key as MCPGW_SECRET_KEY (or MCPGW_SECRET_KEY_OLD while rotating, then run mcpgw secret rekey), or set the secret again with mcpgw secret set",
    );
  }
  try {
    const data = Buffer.from(sealed.ciphertext, "base64");
    if (data.length < TAG_BYTES) throw new Error("too short");
    const decipher = createDecipheriv("aes-256-gcm", key.material(), Buffer.from(sealed.nonce, "base64"), { authTagLength: TAG_BYTES });
    decipher.setAAD(boundTo(backend, subject));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    return Buffer.concat([decipher.update(data.subarray(0, data.length - TAG_BYTES)), decipher.final()]).toString("utf8");
  } catch {
    throw new SecretUnreadableError(
      `the secret of subject "${subject}" for backend "${backend}" does not decrypt with key ${key.id}: it was altered, or copied from another backend or subject`,
      `set it again: mcpgw secret set ${backend} --sub ${subject}`,
    );
  }
}
