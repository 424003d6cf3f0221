import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import { type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions, createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import type { Principal } from "./principal.ts";
import { AuthFailure } from "./auth-failure.ts";
import { contextAuthInfo } from "./request-context.ts";
import type { AuthSettings, ExternalIdpSettings } from "../config/auth-settings.ts";
import { rolesFrom, subjectFrom } from "./claims.ts";
import type { KeyRing } from "./key-ring.ts";
import { ASSERTION_TYP } from "./gateway-assertion.ts";
import type { RevocationList } from "./revocations.ts";
import { VerifiedTokenCache, tokenHash } from "./verified-token-cache.ts";
import { TOKEN_NOT_KEPT, type TokenSource, type VerifiedToken } from "./verified-token.ts";
import { formatDuration } from "../config/duration.ts";

/** Checked before any parsing: a bearer token larger than this is refused unread. */
export const MAX_TOKEN_BYTES = 8 * 1024;

/** What an identity provider may sign with: asymmetric algorithms only, so no public key can serve as an HMAC secret. */
export const IDP_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"] as const;

/** JWS compact form: three base64url parts (the third empty only for alg "none", refused below). */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;
const DETAIL_MAX = 120;

export interface TokenVerifierOptions {
  auth: AuthSettings;
  keys: KeyRing;
  revocations: RevocationList;
  cacheSize?: number;
  now?: () => number;
}

/**
 * Verifies bearer tokens from the three sources the gateway trusts, each with its own keys,
 * algorithms, issuer and audience:
 *
 * - own:    the gateway's signing keys (EdDSA/ES256), found by kid; iss/aud = MCPGW_TOKEN_ISSUER/AUDIENCE.
 * - secret: HS256 with MCPGW_JWT_SECRET; same iss/aud. Only HS256, only this secret.
 * - idp:    the external identity provider's JWKS (fetched, cached, refetched on an unknown kid).
 *
 * Signature, algorithm, exp, nbf, iss and aud are always checked, with a bounded clock skew.
 * Verified tokens are cached by hash until expiry; revocation and key retirement are checked on
 * every use, cached or not, so the cache never outlives either.
 */
export class TokenVerifier {
  private readonly cache: VerifiedTokenCache;
  /** What each handed-out AuthInfo stands for, so a credential can be re-checked later (open streams). */
  private readonly issued = new WeakMap<AuthInfo, VerifiedToken>();
  private readonly idp: { settings: ExternalIdpSettings; keys: JWTVerifyGetKey } | undefined;
  private readonly ownOptions: JWTVerifyOptions;
  private readonly now: () => number;

  constructor(private readonly options: TokenVerifierOptions) {
    const { auth } = options;
    this.cache = new VerifiedTokenCache(options.cacheSize);
    this.now = options.now ?? Date.now;
    this.ownOptions = { issuer: auth.tokenIssuer, audience: auth.tokenAudience, clockTolerance: auth.clockSkewSec, requiredClaims: ["exp", "sub"] };
    if (auth.external) {
      const keys = createRemoteJWKSet(auth.external.jwksUrl, { cooldownDuration: auth.external.jwksCooldownMs, timeoutDuration: 5_000 });
      this.idp = { settings: auth.external, keys };
    }
  }

  /** The principal a token proves, or an AuthFailure saying exactly why not. */
  async verify(token: string): Promise<VerifiedToken> {
    if (token.length > MAX_TOKEN_BYTES) throw new AuthFailure("oversized", `the token is ${token.length} bytes; at most ${MAX_TOKEN_BYTES} are accepted`);
    const hash = tokenHash(token);
    const now = this.now();
    const cached = this.cache.get(hash, now);
    if (cached) {
      this.recheck(cached);
      return cached;
    }
    const verified = await this.verifyUncached(token);
    this.recheck(verified);
    this.cache.set(hash, verified, now);
    return verified;
  }

  /**
   * Whether a credential accepted earlier would still be accepted now: not expired, not revoked,
   * its key not retired. For what outlives a request, e.g. an open server→client stream.
   */
  stillValid(authInfo: AuthInfo): boolean {
    const token = this.issued.get(authInfo);
    if (!token) return false;
    if (token.validUntilMs <= this.now()) return false;
    try {
      this.recheck(token);
      return true;
    } catch {
      return false;
    }
  }

  /** What may change after verification: a revocation, a retired or removed key. */
  private recheck(token: VerifiedToken): void {
    if (token.jti !== undefined && this.options.revocations.has(token.jti)) throw new AuthFailure("revoked", `token ${token.jti} was revoked`);
    if (token.source === "own") {
      const key = this.options.keys.get(token.kid!);
      if (!key) throw new AuthFailure("unknown_kid", `signing key "${token.kid}" no longer exists`);
      if (key.retired) throw new AuthFailure("retired_key", `signing key "${token.kid}" was retired`);
    }
  }

  private async verifyUncached(token: string): Promise<VerifiedToken> {
    if (!COMPACT_JWS.test(token)) {
      const parts = token.split(".").length;
      throw new AuthFailure("malformed", parts === 5 ? "encrypted tokens (JWE) are not accepted" : "a JWT is three base64url parts separated by dots");
    }
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw new AuthFailure("malformed", "the token's header is not base64url-encoded JSON");
    }
    const alg = header.alg;
    if (typeof alg !== "string" || alg === "") throw new AuthFailure("malformed", 'the token\'s header has no "alg"');
    if (alg.toLowerCase() === "none") throw new AuthFailure("alg_none", 'unsigned tokens (alg "none") are never accepted');
    if (token.endsWith(".")) throw new AuthFailure("malformed", "the token has no signature");
    const kid = typeof header.kid === "string" ? header.kid : undefined;
    const own = kid === undefined ? undefined : this.options.keys.get(kid);

    if (/^HS\d+$/i.test(alg)) {
      // The classic confusion: an HMAC "signed" with a public key, which anyone can read.
      if (own) throw new AuthFailure("algorithm_confusion", `${alg} token names the gateway's ${own.alg} key "${kid}": a public key is never an HMAC secret`);
      if (!this.options.auth.sharedSecret)
        throw new AuthFailure("algorithm_confusion", `${alg} token, but no shared secret is configured: only asymmetric keys apply`);
      if (alg !== "HS256") throw new AuthFailure("algorithm_not_allowed", `${alg} is not accepted; the shared secret verifies HS256 only`);
      return this.checked(token, this.options.auth.sharedSecret, { ...this.ownOptions, algorithms: ["HS256"] }, "secret");
    }
    if (own) {
      // Signed with the same key, but for a backend: a backend that replays one here is not its subject.
      if (header.typ === ASSERTION_TYP) throw new AuthFailure("malformed", "a gateway assertion is for a backend, never a token for the gateway");
      if (own.retired) throw new AuthFailure("retired_key", `signing key "${kid}" was retired`);
      if (alg !== own.alg) throw new AuthFailure("algorithm_not_allowed", `key "${kid}" is ${own.alg}, the token says ${alg}`);
      return this.checked(token, own.publicKey, { ...this.ownOptions, algorithms: [own.alg], requiredClaims: ["exp", "sub", "jti"] }, "own", kid);
    }
    if (this.idp) {
      if (!(IDP_ALGORITHMS as readonly string[]).includes(alg))
        throw new AuthFailure("algorithm_not_allowed", `${alg} is not accepted from the identity provider`);
      const { settings, keys } = this.idp;
      return this.checked(
        token,
        keys,
        {
          issuer: settings.issuer,
          audience: settings.audience,
          clockTolerance: this.options.auth.clockSkewSec,
          algorithms: [...IDP_ALGORITHMS],
          requiredClaims: ["exp"],
        },
        "idp",
      );
    }
    throw new AuthFailure("unknown_kid", kid === undefined ? "the token names no key (kid)" : `no signing key "${clip(kid)}"`);
  }

  private async checked(
    token: string,
    key: Uint8Array | CryptoKey | JWTVerifyGetKey,
    options: JWTVerifyOptions,
    source: TokenSource,
    kid?: string,
  ): Promise<VerifiedToken> {
    let payload: JWTPayload;
    try {
      payload = (await jwtVerify(token, key as Parameters<typeof jwtVerify>[1], options)).payload;
    } catch (err) {
      throw failureOf(err, source, options);
    }
    this.checkTimes(payload);
    const principal = this.principalOf(payload, source);
    const jti = typeof payload.jti === "string" ? payload.jti : undefined;
    const validUntilMs = ((payload.exp as number) + this.options.auth.clockSkewSec) * 1_000;
    const verified: VerifiedToken = {
      principal,
      source,
      ...(kid !== undefined && { kid }),
      ...(jti !== undefined && { jti }),
      validUntilMs,
      authInfo: contextAuthInfo(
        { token: TOKEN_NOT_KEPT, clientId: principal.subject, scopes: principal.roles, expiresAt: payload.exp as number },
        { principal, source, ...(jti !== undefined && { jti }) },
      ),
    };
    this.issued.set(verified.authInfo, verified);
    return verified;
  }

  /**
   * What jose leaves open: a token issued in the future (beyond the skew), and one valid for longer
   * than any the gateway would accept (an exp of 1e20, correctly signed, is otherwise a credential
   * for ever). Its lifetime counts from its iat, or from now for a token without one.
   */
  private checkTimes(payload: JWTPayload): void {
    const { clockSkewSec, maxTokenLifetimeSec } = this.options.auth;
    const now = Math.floor(Date.now() / 1_000);
    const iat = typeof payload.iat === "number" ? payload.iat : undefined;
    if (iat !== undefined && iat > now + clockSkewSec)
      throw new AuthFailure("issued_in_future", `the token says it was issued at ${isoSeconds(iat)}, later than now`);
    const exp = payload.exp as number;
    const from = iat === undefined ? now : Math.min(iat, now);
    if (exp - from > maxTokenLifetimeSec + clockSkewSec) {
      throw new AuthFailure(
        "lifetime_too_long",
        `the token is valid until ${exp > 253_402_300_799 ? "after the year 9999" : isoSeconds(exp)}, longer than the ${formatDuration(maxTokenLifetimeSec * 1_000)} accepted (MCPGW_JWT_MAX_LIFETIME)`,
      );
    }
  }

  private principalOf(payload: JWTPayload, source: TokenSource): Principal {
    const idp = source === "idp" ? this.idp!.settings : undefined;
    const subject = subjectFrom(payload, idp?.subjectClaim ?? "sub");
    const roles = rolesFrom(payload, idp?.rolesClaims ?? ["roles"]);
    return Object.freeze({ subject, roles: Object.freeze(roles) as string[], anonymous: false });
  }
}

/** Maps jose's errors to reasons; anything unrecognised is "malformed", never a pass. */
function failureOf(err: unknown, source: TokenSource, options: JWTVerifyOptions): AuthFailure {
  if (err instanceof AuthFailure) return err;
  const { code, claim, reason } = err as { code?: string; claim?: string; reason?: string };
  const payload = (err as { payload?: JWTPayload }).payload;
  switch (code) {
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return new AuthFailure("bad_signature");
    case "ERR_JWT_EXPIRED":
      return new AuthFailure("expired", typeof payload?.exp === "number" ? `the token expired at ${isoSeconds(payload.exp)}` : undefined);
    case "ERR_JWT_CLAIM_VALIDATION_FAILED":
      if (reason === "missing") return new AuthFailure("missing_claim", `the token has no "${claim}" claim`);
      if (reason === "invalid") return new AuthFailure("malformed", `the "${claim}" claim is not a number`);
      if (claim === "nbf")
        return new AuthFailure("not_yet_valid", typeof payload?.nbf === "number" ? `the token is valid from ${isoSeconds(payload.nbf)}` : undefined);
      if (claim === "iss") return new AuthFailure("wrong_issuer", `issuer "${clip(String(payload?.iss))}" is not "${String(options.issuer)}"`);
      if (claim === "aud")
        return new AuthFailure(
          "wrong_audience",
          `audience ${clip(JSON.stringify(payload?.aud))} does not include "${[options.audience].flat().join('" or "')}"`,
        );
      return new AuthFailure("malformed", `the "${claim}" claim failed its check`);
    case "ERR_JOSE_ALG_NOT_ALLOWED":
    case "ERR_JOSE_NOT_SUPPORTED":
      return new AuthFailure("algorithm_not_allowed");
    case "ERR_JWKS_NO_MATCHING_KEY":
    case "ERR_JWKS_MULTIPLE_MATCHING_KEYS":
      return new AuthFailure("unknown_kid", "the identity provider publishes no key matching the token's kid and algorithm");
    case "ERR_JWKS_TIMEOUT":
      return new AuthFailure("key_source_unavailable", "the identity provider's JWKS did not answer in time");
    case "ERR_JWS_INVALID":
    case "ERR_JWT_INVALID":
      return new AuthFailure("malformed", (err as Error).message);
    default:
      // Fetching the IdP's JWKS failed (refused connection, non-200, not JSON, invalid keys).
      if (source === "idp")
        return new AuthFailure("key_source_unavailable", `the identity provider's JWKS could not be used: ${clip((err as Error)?.message ?? String(err))}`);
      return new AuthFailure("malformed", clip((err as Error)?.message ?? String(err)));
  }
}

function isoSeconds(epochSeconds: number): string {
  return new Date(epochSeconds * 1_000).toISOString();
}

/** Token contents are attacker-chosen: keep what is echoed into logs and headers short. */
function clip(text: string): string {
  return text.length > DETAIL_MAX ? `${text.slice(0, DETAIL_MAX)}…` : text;
}
