import { type JWK, calculateJwkThumbprint, exportJWK, generateKeyPair } from "jose";
import type { SigningAlgorithm } from "../config/auth-settings.ts";
import { type SigningKeyRecord, activeKey } from "./signing-key.ts";
import type { SigningKeyRepository } from "./signing-key-repository.ts";

/** The part of the store that holds signing keys. */
type KeyStore = { readonly signingKeys: SigningKeyRepository };

/**
 * Generates a key pair for signing the gateway's tokens; its kid is the RFC 7638 thumbprint. A
 * thumbprint starting with "-" (1 in 64) would read as an option on a command line (`mcpgw key
 * retire KID`), so such a pair is drawn again.
 */
export async function generateSigningKey(alg: SigningAlgorithm, now = Date.now()): Promise<SigningKeyRecord> {
  let pair: CryptoKeyPair;
  let publicJwk: JWK;
  let kid: string;
  do {
    pair = await generateKeyPair(alg, { extractable: true });
    publicJwk = await exportJWK(pair.publicKey);
    kid = await calculateJwkThumbprint(publicJwk);
  } while (kid.startsWith("-"));
  const { privateKey } = pair;
  return { kid, alg, publicJwk: { ...publicJwk, kid, alg, use: "sig" }, privateJwk: { ...(await exportJWK(privateKey)), kid, alg }, createdAt: now };
}

/**
 * The active signing key, created first if there is none (first `serve` or `token issue` on a
 * fresh database). Safe when several processes start at once: exactly one key is kept.
 */
export async function ensureActiveSigningKey(store: KeyStore, alg: SigningAlgorithm): Promise<SigningKeyRecord> {
  const existing = activeKey(await store.signingKeys.list());
  if (existing) return existing;
  return store.signingKeys.addIfNoneActive(await generateSigningKey(alg));
}

/** `mcpgw key rotate`: a new active key; older keys keep verifying until retired. */
export async function rotateSigningKey(store: KeyStore, alg: SigningAlgorithm): Promise<SigningKeyRecord> {
  const key = await generateSigningKey(alg);
  await store.signingKeys.add(key);
  return key;
}

/** The public JWK of a key, as published: never a private member, whatever the stored JWK holds. */
export function publicJwkOf(key: Pick<SigningKeyRecord, "kid" | "alg" | "publicJwk">): JWK {
  const { kty, crv, x, y } = key.publicJwk;
  return { kty, crv, x, ...(y !== undefined && { y }), kid: key.kid, alg: key.alg, use: "sig" } as JWK;
}
