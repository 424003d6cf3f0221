import type { BackendSpec } from "./backend-spec.ts";
import { McpgwError } from "../errors.ts";
import { DEFAULT_AUTH_HEADER } from "../credentials/backend-auth.ts";
import type { BoundCredential, CredentialCaller } from "../credentials/bound-credential.ts";
import { currentCall } from "../credentials/call-context.ts";
import type { ExchangeCache } from "../credentials/exchange-cache.ts";
import { exchangeToken } from "../credentials/token-exchange.ts";
import type { TokenExchangeAuth } from "../credentials/token-exchange-auth.ts";
import { crossedCallerError } from "./credential-errors.ts";
import { resolveSecretRefs } from "./secret-refs.ts";

/** What a token-exchange credential needs from the gateway: its exchanged-token cache and environment (for `${VAR}`s). */
export interface ExchangeSources {
  cache: ExchangeCache;
  env: Record<string, string | undefined>;
}

/**
 * The credential of a token-exchange backend for one caller: per request, the token the caller's
 * identity-provider token was exchanged for (RFC 8693), from the cache while it lasts. The
 * caller's own token is only ever sent to the token endpoint. A call that brought no
 * identity-provider token (a gateway-issued token, a job, `mcpgw call --as`) fails: no other
 * subject's token, no static credential, is used in its place.
 */
export function tokenExchangeCredential(
  spec: BackendSpec,
  auth: TokenExchangeAuth,
  key: string,
  caller: CredentialCaller,
  sources: ExchangeSources,
): BoundCredential {
  const header = auth.header ?? DEFAULT_AUTH_HEADER;
  const audience = auth.audience ?? spec.url ?? spec.name;
  const subject = caller.subject;
  // Per (backend settings, subject): the subject is the verified one, and a call reaches the cache
  // only with an identity-provider token that proved it (below).
  const cacheKey = JSON.stringify([spec.name, auth.tokenEndpoint, audience, auth.scope ?? "", auth.clientId ?? "", subject]);
  const carried = (token: string) => ({ [header]: header.toLowerCase() === "authorization" ? `Bearer ${token}` : token });
  return {
    mode: "token-exchange",
    key,
    subject,
    async headers() {
      const call = currentCall();
      if (call && call.subject !== subject) throw crossedCallerError(spec.name);
      const subjectToken = call?.subjectToken;
      if (!subjectToken) {
        // A connection's own traffic outside any call (closing a session) may use what this subject was issued.
        const held = call ? undefined : sources.cache.peek(cacheKey);
        if (held) return carried(held.accessToken);
        throw needsIdentityProviderLogin(spec.name);
      }
      const exchanged = await sources.cache.get(cacheKey, () => {
        const clientSecret =
          auth.clientSecret === undefined
            ? undefined
            : resolveSecretRefs({ "--client-secret": auth.clientSecret }, sources.env, { backend: spec.name, kind: "flag" })["--client-secret"];
        return exchangeToken({
          backend: spec.name,
          tokenEndpoint: auth.tokenEndpoint,
          subjectToken,
          audience,
          ...(auth.scope !== undefined && { scope: auth.scope }),
          ...(auth.clientId !== undefined && { clientId: auth.clientId }),
          ...(clientSecret !== undefined && { clientSecret }),
        });
      });
      // A token without a jti is named by nothing: its value never is.
      if (call && exchanged.jti !== undefined) call.credentialId = exchanged.jti;
      return carried(exchanged.accessToken);
    },
  };
}

/** The caller authenticated without an identity-provider token, which this backend's credential is made from. */
export function needsIdentityProviderLogin(backend: string): McpgwError {
  return new McpgwError(
    `backend "${backend}" needs an identity-provider login: its credential is exchanged (--auth token-exchange) from the caller's identity-provider token, and this call brought none`,
    "call it with an access token from the identity provider (MCPGW_JWT_JWKS_URL), not a gateway-issued token; jobs and mcpgw call --as cannot reach it",
  );
}
