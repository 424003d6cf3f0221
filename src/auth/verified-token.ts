import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import type { Principal } from "./principal.ts";

/** Which kind of key vouched for a token. */
export type TokenSource = "own" | "secret" | "idp";

/** What verifying a token proved, built once and reused for every request carrying it. */
export interface VerifiedToken {
  principal: Principal;
  source: TokenSource;
  /** The gateway key that signed it (source "own"): checked for retirement on every use. */
  kid?: string;
  jti?: string;
  /** Until when it may be used: exp plus the clock skew, in epoch ms. */
  validUntilMs: number;
  /** Handed to the SDK transport; its extra is the RequestContext (request-context.ts). */
  authInfo: AuthInfo;
}

/**
 * AuthInfo.token is required by the SDK type, but the raw token is not kept past verification:
 * nothing downstream can then forward or log it.
 */
export const TOKEN_NOT_KEPT = "[verified by mcpgw; not kept]";
