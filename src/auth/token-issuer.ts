import { SignJWT, importJWK } from "jose";
import type { AuthSettings } from "../config/auth-settings.ts";
import type { SigningKeyRepository } from "./signing-key-repository.ts";
import { ensureActiveSigningKey } from "./signing-keys.ts";
import type { TokenRepository } from "./token-repository.ts";
import type { TokenRecord } from "./token-record.ts";

export interface TokenRequest {
  subject: string;
  roles: string[];
  ttlMs: number;
  description?: string;
}

export interface IssuedToken {
  token: string;
  record: TokenRecord;
  kid: string;
}

/**
 * Mints a token signed with the active key (creating one on a fresh database) and records its
 * claims. The record is written before the token is returned, so every token that exists can be
 * listed and revoked.
 */
export async function issueToken(
  store: { readonly signingKeys: SigningKeyRepository; readonly tokens: TokenRepository },
  auth: Pick<AuthSettings, "tokenIssuer" | "tokenAudience" | "signingAlg">,
  request: TokenRequest,
  now = Date.now(),
): Promise<IssuedToken> {
  const key = await ensureActiveSigningKey(store, auth.signingAlg);
  const privateKey = await importJWK(key.privateJwk, key.alg);
  const jti = crypto.randomUUID();
  const issuedAtSec = Math.floor(now / 1_000);
  const expiresAtSec = issuedAtSec + Math.max(1, Math.round(request.ttlMs / 1_000));
  const token = await new SignJWT({ roles: request.roles })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: "JWT" })
    .setJti(jti)
    .setIssuer(auth.tokenIssuer)
    .setAudience(auth.tokenAudience)
    .setSubject(request.subject)
    .setIssuedAt(issuedAtSec)
    .setNotBefore(issuedAtSec)
    .setExpirationTime(expiresAtSec)
    .sign(privateKey);
  const record: TokenRecord = {
    jti,
    subject: request.subject,
    roles: request.roles,
    ...(request.description !== undefined && { description: request.description }),
    issuedAt: issuedAtSec * 1_000,
    expiresAt: expiresAtSec * 1_000,
  };
  await store.tokens.add(record);
  return { token, record, kid: key.kid };
}
