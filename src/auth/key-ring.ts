import { type CryptoKey, type JWK, importJWK } from "jose";
import type { SigningAlgorithm } from "../config/auth-settings.ts";
import type { SigningKeyRecord } from "./signing-key.ts";
import { publicJwkOf } from "./signing-keys.ts";

/** One of the gateway's own keys as the verifier sees it: the public half only. */
export interface RingKey {
  kid: string;
  alg: SigningAlgorithm;
  publicKey: CryptoKey;
  retired: boolean;
}

/**
 * The gateway's own signing keys, public halves imported once, in memory. Reloaded when the
 * "keys" change topic moves (rotate, retire — from the CLI or another replica); a key removed
 * from the database disappears here too, so its tokens then name an unknown kid.
 */
export class KeyRing {
  private keys = new Map<string, RingKey>();
  private published: { keys: JWK[] } = { keys: [] };

  /** Replaces the ring with these keys; only new keys are imported (the private halves are dropped). */
  async load(records: readonly SigningKeyRecord[]): Promise<void> {
    const next = new Map<string, RingKey>();
    for (const record of records) {
      const known = this.keys.get(record.kid);
      const publicKey = known?.publicKey ?? ((await importJWK(publicJwkOf(record), record.alg)) as CryptoKey);
      next.set(record.kid, { kid: record.kid, alg: record.alg, publicKey, retired: record.retiredAt !== undefined });
    }
    this.keys = next;
    // Newest first, so a client that takes the first key finds the active one.
    this.published = {
      keys: [...records]
        .filter((r) => r.retiredAt === undefined)
        .sort((a, b) => b.createdAt - a.createdAt)
        .map(publicJwkOf),
    };
  }

  get(kid: string): RingKey | undefined {
    return this.keys.get(kid);
  }

  /** The JWK Set for /.well-known/jwks.json: public keys of every key not retired. */
  jwks(): { keys: JWK[] } {
    return this.published;
  }
}
