import type { VerifiedToken } from "./verified-token.ts";

const DEFAULT_MAX_ENTRIES = 10_000;

/** SHA-256 of a token: the cache key, so the cache never holds a usable token. */
export function tokenHash(token: string): string {
  return Bun.CryptoHasher.hash("sha256", token, "base64url");
}

/**
 * Verified tokens by hash, until they expire, so a client's repeated requests cost a hash and a
 * lookup instead of a signature check. Bounded: when full, expired entries go first, then the
 * oldest. The cache only remembers what verification proved; revocation and key retirement are
 * checked by the verifier on every hit.
 */
export class VerifiedTokenCache {
  private readonly entries = new Map<string, VerifiedToken>();

  constructor(private readonly maxEntries = DEFAULT_MAX_ENTRIES) {}

  get(hash: string, now: number): VerifiedToken | undefined {
    const entry = this.entries.get(hash);
    if (entry && entry.validUntilMs <= now) {
      this.entries.delete(hash);
      return undefined;
    }
    return entry;
  }

  set(hash: string, token: VerifiedToken, now: number): void {
    if (this.entries.size >= this.maxEntries && !this.entries.has(hash)) this.evict(now);
    this.entries.set(hash, token);
  }

  get size(): number {
    return this.entries.size;
  }

  private evict(now: number): void {
    for (const [hash, entry] of this.entries) if (entry.validUntilMs <= now) this.entries.delete(hash);
    // Map iteration is insertion order: the first entry is the oldest.
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }
}
