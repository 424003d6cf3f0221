import type { SealedSecret } from "./secret-cipher.ts";

/** What is known of a stored secret without decrypting it: for listings, never the value. */
export interface SubjectSecretInfo {
  backend: string;
  subject: string;
  /** Names this value of the secret (a new one on every set, kept by rekey): what the audit can cite instead of the value. */
  secretId: string;
  keyId: string;
  createdAt: number;
  updatedAt: number;
}

/** One stored secret: its description and the sealed value. */
export interface StoredSubjectSecret extends SubjectSecretInfo, SealedSecret {}

/**
 * Per-subject secrets to backends (backend add --auth per-subject-secret), encrypted by the caller
 * before they reach the store: the store only ever holds ciphertext. Every write bumps the
 * "secrets" change topic, so running gateways drop what they cached.
 */
export interface SubjectSecretRepository {
  /** Stores or replaces the secret of (backend, subject); `createdAt` of a replaced one is kept. NotFoundError when the backend does not exist. */
  put(secret: StoredSubjectSecret): Promise<void>;
  get(backend: string, subject: string): Promise<StoredSubjectSecret | undefined>;
  /** Every secret (of one backend), by backend and subject. */
  list(backend?: string): Promise<SubjectSecretInfo[]>;
  /** Whether there was one to remove. */
  remove(backend: string, subject: string): Promise<boolean>;
  /**
   * Re-encrypts every secret in one transaction: `reseal` returns the new sealed value of a row, or
   * undefined to leave it as it is; a throw rolls everything back. Returns how many rows changed.
   */
  reseal(reseal: (secret: StoredSubjectSecret) => SealedSecret | undefined): Promise<number>;
}
