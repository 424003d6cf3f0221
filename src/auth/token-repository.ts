import type { TokenRecord } from "./token-record.ts";

/** Tokens the gateway issued (their claims, never the token). Revocations move the "tokens" version. */
export interface TokenRepository {
  /** Records an issued token; ConflictError when the jti is taken. */
  add(token: TokenRecord): Promise<void>;
  get(jti: string): Promise<TokenRecord | undefined>;
  /** Every recorded token, newest first. */
  list(): Promise<TokenRecord[]>;
  /** Revokes a token: NotFoundError when no token has that jti. */
  revoke(jti: string, at: number): Promise<"revoked" | "already-revoked">;
  /** Revokes every token of a subject that is neither revoked nor expired at `at`; returns their jtis. */
  revokeAllFor(subject: string, at: number): Promise<string[]>;
  /** The jtis of revoked tokens that expire after `after` (earlier ones are refused as expired anyway). */
  revokedJtis(after: number): Promise<string[]>;
}
