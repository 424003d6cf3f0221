import { type CryptoKey, SignJWT, importJWK } from "jose";
import { activeKey, type SigningKeyRecord } from "./signing-key.ts";
import { McpgwError } from "../errors.ts";

/** The JOSE `typ` of a gateway assertion: the gateway's verifier refuses it as a bearer token for itself. */
export const ASSERTION_TYP = "mcpgw-assertion+jwt";
/** How long an assertion is valid: long enough for one request's trip, far under the 5 minutes a backend may demand. */
export const ASSERTION_TTL_SEC = 120;

/** What an assertion says. */
export interface AssertionClaims {
  audience: string;
  subject: string;
  roles: readonly string[];
  /** The gateway's id of the call the request belongs to; absent for a connection's own traffic. */
  callId?: string;
  /** The assertion's own id (`jti`); a fresh one when absent. */
  jti?: string;
}

/**
 * Signs gateway assertions: JWTs with the gateway's active signing key (the one its tokens are
 * signed with, published at /.well-known/jwks.json), so a backend that trusts the gateway learns
 * who is calling without a credential of the caller's own. The private key is imported once and
 * again only after `keysChanged` (key rotate/retire, watched through the "keys" topic).
 */
export class GatewayAssertionSigner {
  private key: Promise<{ kid: string; alg: string; privateKey: CryptoKey }> | undefined;

  constructor(
    private readonly listKeys: () => Promise<SigningKeyRecord[]>,
    private readonly issuer: string,
    private readonly ttlSec: number = ASSERTION_TTL_SEC,
  ) {}

  /** The signing keys changed: the next assertion is signed with the then active key. */
  keysChanged(): void {
    this.key = undefined;
  }

  async sign(claims: AssertionClaims, now: number = Date.now()): Promise<string> {
    if (!this.key) {
      // A failed load is not kept: the next assertion tries again (a key may have been created since).
      this.key = this.loadKey().catch((err) => {
        this.key = undefined;
        throw err;
      });
    }
    const key = await this.key;
    const issuedAt = Math.floor(now / 1_000);
    return new SignJWT({ roles: [...claims.roles], ...(claims.callId !== undefined && { call_id: claims.callId }) })
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: ASSERTION_TYP })
      .setIssuer(this.issuer)
      .setAudience(claims.audience)
      .setSubject(claims.subject)
      .setJti(claims.jti ?? crypto.randomUUID())
      .setIssuedAt(issuedAt)
      .setNotBefore(issuedAt)
      .setExpirationTime(issuedAt + this.ttlSec)
      .sign(key.privateKey);
  }

  private async loadKey(): Promise<{ kid: string; alg: string; privateKey: CryptoKey }> {
    const record = activeKey(await this.listKeys());
    if (!record) {
      throw new McpgwError(
        "the gateway has no active signing key to sign assertions with",
        "create one with: mcpgw key rotate (mcpgw serve creates one on a fresh database)",
      );
    }
    return { kid: record.kid, alg: record.alg, privateKey: (await importJWK(record.privateJwk, record.alg)) as CryptoKey };
  }
}
