import type { JWK } from "jose";
import type { SigningAlgorithm } from "../config/auth-settings.ts";

/**
 * One of the gateway's signing keys as the store holds it. The private half is stored so that
 * every replica and the CLI can sign with the same key (see docs/security.md on protecting the
 * database); only `mcpgw token issue` ever reads it.
 */
export interface SigningKeyRecord {
  /** RFC 7638 thumbprint of the public key; the `kid` in every token it signs. */
  kid: string;
  alg: SigningAlgorithm;
  publicJwk: JWK;
  privateJwk: JWK;
  createdAt: number;
  /** Set once retired: the key no longer verifies anything and leaves the JWKS. */
  retiredAt?: number;
}

/** The active key signs new tokens: the newest key not retired (ties broken by kid, so every reader agrees). */
export function activeKey<K extends Pick<SigningKeyRecord, "kid" | "createdAt" | "retiredAt">>(keys: readonly K[]): K | undefined {
  let active: K | undefined;
  for (const key of keys) {
    if (key.retiredAt !== undefined) continue;
    if (!active || key.createdAt > active.createdAt || (key.createdAt === active.createdAt && key.kid > active.kid)) active = key;
  }
  return active;
}
