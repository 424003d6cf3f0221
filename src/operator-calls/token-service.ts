import type { AuthSettings } from "../config/auth-settings.ts";
import { MAX_ISSUED_TOKEN_LIFETIME_MS } from "../config/auth-settings.ts";
import { formatDuration, parseDuration } from "../config/duration.ts";
import { UsageError, inField } from "../errors.ts";
import { type IssuedToken, issueToken } from "../auth/token-issuer.ts";
import type { TokenRecord } from "../auth/token-record.ts";
import type { SigningKeyRepository } from "../auth/signing-key-repository.ts";
import type { TokenRepository } from "../auth/token-repository.ts";
import { assertRolesExist } from "../policy/role-references.ts";
import { type RoleRepository, assertRoleName, assertSubject } from "../policy/role-repository.ts";

/**
 * Tokens as `mcpgw token …` and the admin API (/v1/admin/tokens) issue, list and revoke them:
 * one implementation of the checks (subject, roles, lifetime) and of a token's public view.
 */

const DEFAULT_TTL_MS = 3_600_000;

/** What issuing a token reads and writes. */
export interface TokenStore {
  readonly signingKeys: SigningKeyRepository;
  readonly tokens: TokenRepository;
  readonly roles: RoleRepository;
}

/** A token as listed: claims and state, never the token. */
export interface TokenView {
  jti: string;
  subject: string;
  roles: string[];
  description?: string;
  issuedAt: string;
  expiresAt: string;
  revokedAt?: string;
  status: "active" | "expired" | "revoked";
}

/** What `token issue` takes, named as its flags. */
export interface TokenIssueInput {
  sub: string;
  role?: string[];
  /** A duration ("1h", "30m"); default 1h. */
  ttl?: string;
  description?: string;
}

/** A validated request to issue a token. */
export interface CheckedTokenRequest {
  subject: string;
  roles: string[];
  ttlMs: number;
  description?: string;
}

/** Checks `token issue`'s input before the store is opened; UsageError naming the field otherwise. */
export function checkTokenIssue(input: TokenIssueInput): CheckedTokenRequest {
  inField("sub", () => {
    assertSubject(input.sub);
    // The gateway refuses such a subject in a token (src/auth/claims.ts): refuse to mint it.
    if (/[\u0000-\u001f\u007f]/.test(input.sub))
      throw new UsageError(`--sub contains control characters`, "give the subject as printable text, e.g. --sub alice@example.com");
  });
  const roles = input.role ?? [];
  roles.forEach((role, i) => inField(`role[${i}]`, () => assertRoleName(role)));
  const ttlMs = inField("ttl", () => parseTtl(input.ttl));
  return { subject: input.sub, roles: [...new Set(roles)], ttlMs, ...(input.description !== undefined && { description: input.description }) };
}

/** Mints a checked token: refuses roles that do not exist (a token with one would be refused what it was meant to allow). */
export async function issueCheckedToken(
  store: TokenStore,
  auth: Pick<AuthSettings, "tokenIssuer" | "tokenAudience" | "signingAlg">,
  request: CheckedTokenRequest,
): Promise<IssuedToken> {
  await assertRolesExist(store, request.roles);
  return issueToken(store, auth, request);
}

/** A token's lifetime from --ttl: 1 s up to the longest a gateway accepts. */
export function parseTtl(text: string | undefined, fallbackMs = DEFAULT_TTL_MS): number {
  if (text === undefined) return fallbackMs;
  const ms = parseDuration(text, "--ttl");
  if (ms < 1_000 || ms > MAX_ISSUED_TOKEN_LIFETIME_MS) {
    throw new UsageError(
      `--ttl "${text}" is out of range`,
      `use 1s to ${formatDuration(MAX_ISSUED_TOKEN_LIFETIME_MS)}; prefer short-lived tokens (e.g. 1h) and issue new ones`,
    );
  }
  return ms;
}

export function tokenView(token: TokenRecord, now = Date.now()): TokenView {
  return {
    jti: token.jti,
    subject: token.subject,
    roles: token.roles,
    ...(token.description !== undefined && { description: token.description }),
    issuedAt: new Date(token.issuedAt).toISOString(),
    expiresAt: new Date(token.expiresAt).toISOString(),
    ...(token.revokedAt !== undefined && { revokedAt: new Date(token.revokedAt).toISOString() }),
    status: token.revokedAt !== undefined ? "revoked" : token.expiresAt <= now ? "expired" : "active",
  };
}

/** The live tokens of a subject (neither revoked nor expired): what `token revoke --all-for` takes back. */
export async function liveTokensOf(store: Pick<TokenStore, "tokens">, subject: string, now = Date.now()): Promise<TokenRecord[]> {
  return (await store.tokens.list()).filter((token) => token.subject === subject && token.revokedAt === undefined && token.expiresAt > now);
}
