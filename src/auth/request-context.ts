import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import type { Principal } from "./principal.ts";
import type { TokenSource } from "./verified-token.ts";
import type { SubjectToken } from "../credentials/subject-token.ts";

/**
 * What the gateway knows of an authenticated request, past the HTTP layer. The SDK hands a request's
 * AuthInfo to its handlers unchanged, so this travels as AuthInfo.extra: requestContext() below is the
 * one place that reads it back, with its shape checked, instead of each reader casting `extra`.
 */
export type RequestContext = {
  principal: Principal;
  /** What vouched for the caller: a token source, "none" with MCPGW_AUTH=off, "operator" for `mcpgw call`. */
  source: TokenSource | "none" | "operator";
  /** The token's id, when it has one (revocation is by jti). */
  jti?: string;
  /**
   * The identity-provider token this request presented (source "idp" only), for backends that
   * exchange it (--auth token-exchange). On a per-request copy of the context, never in a cache.
   */
  subjectToken?: SubjectToken;
};

/** AuthInfo that carries a RequestContext: what the request authenticator hands the transport. */
export interface ContextAuthInfo extends AuthInfo {
  extra: RequestContext;
}

/** The AuthInfo of a request made by `principal`, as the SDK transport takes it. */
export function contextAuthInfo(base: Omit<AuthInfo, "extra">, context: RequestContext): ContextAuthInfo {
  return { ...base, extra: context };
}

/**
 * The request's context, or undefined when it carries none or one of another shape: a caller that is
 * not provably authenticated is refused by whoever asks (fail closed), never guessed.
 */
export function requestContext(authInfo: AuthInfo | undefined): RequestContext | undefined {
  const context = authInfo?.extra as Partial<RequestContext> | undefined;
  const principal = context?.principal;
  if (principal === undefined || principal === null || typeof principal.subject !== "string") return undefined;
  return context as RequestContext;
}

/** The authenticated principal of a request, or undefined (see requestContext). */
export function principalOf(authInfo: AuthInfo | undefined): Principal | undefined {
  return requestContext(authInfo)?.principal;
}

/** A copy of `authInfo` for one request, carrying the identity-provider token it presented. */
export function withSubjectToken(authInfo: ContextAuthInfo, subjectToken: SubjectToken): ContextAuthInfo {
  return { ...authInfo, extra: { ...authInfo.extra, subjectToken } };
}
