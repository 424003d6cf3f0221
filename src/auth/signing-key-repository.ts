import type { SigningKeyRecord } from "./signing-key.ts";

/** The gateway's signing keys. Every write moves the "keys" version. */
export interface SigningKeyRepository {
  /** Adds a key, which becomes the active one (rotation). */
  add(key: SigningKeyRecord): Promise<void>;
  /**
   * Adds the key only if no key is active, and returns the active key (the one added or the one
   * found): two processes starting at once on an empty database end up with one key.
   */
  addIfNoneActive(key: SigningKeyRecord): Promise<SigningKeyRecord>;
  /** Every key, retired ones included, oldest first. */
  list(): Promise<SigningKeyRecord[]>;
  /** Retires a key: NotFoundError when unknown, ConflictError when it is the active key. */
  retire(kid: string, at: number): Promise<"retired" | "already-retired">;
}
