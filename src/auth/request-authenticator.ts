import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import { ANONYMOUS, type Principal } from "./principal.ts";
import { AuthFailure } from "./auth-failure.ts";
import { type ContextAuthInfo, contextAuthInfo, withSubjectToken } from "./request-context.ts";
import { SubjectToken } from "../credentials/subject-token.ts";
import type { AuthMode } from "../config/auth-settings.ts";
import { MAX_TOKEN_BYTES, type TokenVerifier } from "./token-verifier.ts";
import { TOKEN_NOT_KEPT } from "./verified-token.ts";

export type AuthOutcome = { ok: true; principal: Principal; authInfo: AuthInfo } | { ok: false; failure: AuthFailure };

/** "Bearer " plus the longest token accepted: anything longer is refused before it is parsed. */
const MAX_AUTHORIZATION_LENGTH = "Bearer ".length + MAX_TOKEN_BYTES;
/** RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** With MCPGW_AUTH=off every request is the anonymous principal; built once. */
const ANONYMOUS_OUTCOME: AuthOutcome = Object.freeze({
  ok: true,
  principal: ANONYMOUS,
  authInfo: Object.freeze(contextAuthInfo({ token: TOKEN_NOT_KEPT, clientId: ANONYMOUS.subject, scopes: [] }, { principal: ANONYMOUS, source: "none" })),
});

/**
 * Who sent an HTTP request: reads the Authorization header (never the query string: MCP
 * 2025-11-25 basic/authorization forbids tokens in URIs) and verifies the bearer token.
 * Sessions are never authentication: every request is checked.
 */
export class RequestAuthenticator {
  /** A request's copy carrying its identity-provider token → the verified token's own AuthInfo, which the verifier re-checks. */
  private readonly verifiedOf = new WeakMap<AuthInfo, AuthInfo>();

  constructor(
    readonly mode: AuthMode,
    private readonly verifier: TokenVerifier | undefined,
  ) {
    if (mode === "required" && !verifier) throw new Error("authentication is required but no token verifier was given");
  }

  /** Whether what authenticate() accepted earlier is still good (expiry, revocation, key retirement). */
  stillValid(authInfo: AuthInfo): boolean {
    return this.mode === "off" || this.verifier!.stillValid(this.verifiedOf.get(authInfo) ?? authInfo);
  }

  async authenticate(request: Request): Promise<AuthOutcome> {
    if (this.mode === "off") return ANONYMOUS_OUTCOME;
    const header = request.headers.get("authorization");
    if (header === null) return refused(new AuthFailure("missing_token", 'send "Authorization: Bearer <token>"'));
    if (header.length > MAX_AUTHORIZATION_LENGTH)
      return refused(
        new AuthFailure("oversized", `the Authorization header is ${header.length} bytes; tokens of at most ${MAX_TOKEN_BYTES} bytes are accepted`),
      );
    const match = BEARER.exec(header);
    if (!match) {
      const scheme = /^\S+/.exec(header)?.[0] ?? "";
      return refused(
        /^bearer$/i.test(scheme)
          ? new AuthFailure("malformed", 'the Authorization header is not "Bearer <token>"')
          : new AuthFailure("missing_token", `the Authorization header uses the "${scheme.slice(0, 20)}" scheme; send "Authorization: Bearer <token>"`),
      );
    }
    try {
      const verified = await this.verifier!.verify(match[1]!);
      if (verified.source !== "idp") return { ok: true, principal: verified.principal, authInfo: verified.authInfo };
      // An identity-provider token may be exchanged for a backend's (RFC 8693): it rides with this
      // request only, on a copy, since the verified AuthInfo is cached and shared by every request.
      const authInfo = withSubjectToken(verified.authInfo as ContextAuthInfo, new SubjectToken(match[1]!));
      this.verifiedOf.set(authInfo, verified.authInfo);
      return { ok: true, principal: verified.principal, authInfo };
    } catch (err) {
      if (err instanceof AuthFailure) return refused(err);
      throw err;
    }
  }
}

function refused(failure: AuthFailure): AuthOutcome {
  return { ok: false, failure };
}
