import type { BackendSpec } from "../backends/backend-spec.ts";
import { resolveSecretRefs } from "../backends/secret-refs.ts";
import { SubjectToken } from "../credentials/subject-token.ts";
import { TokenExchangeError, exchangeToken } from "../credentials/token-exchange.ts";
import type { TokenExchangeAuth } from "../credentials/token-exchange-auth.ts";
import { type CheckResult, ok, problem, problemFrom } from "./check-result.ts";

/** What the doctor offers the token endpoint as a subject token: no identity provider accepts it. */
const PROBE_SUBJECT_TOKEN = "mcpgw-doctor-probe-not-a-token";
/** Refusals that are about the client (the gateway's credentials), not the probe's subject token. */
const CLIENT_ERRORS = new Set(["invalid_client", "unauthorized_client"]);

/**
 * A token-exchange backend is reached only as a caller with an identity-provider token, so it is
 * not probed. What is checked: the client secret's variable is set, and the token endpoint answers
 * an exchange of a made-up subject token as an OAuth token endpoint does, refusing the token but
 * not the gateway's client.
 */
export async function checkTokenExchange(
  spec: BackendSpec,
  auth: TokenExchangeAuth,
  check: string,
  environment: Record<string, string | undefined>,
): Promise<CheckResult> {
  const notProbed = `not probed (it needs a caller's identity-provider token): mcpgw call ${spec.name}/TOOL '{}' as such a caller`;
  let clientSecret: string | undefined;
  try {
    if (auth.clientSecret !== undefined)
      clientSecret = resolveSecretRefs({ "--client-secret": auth.clientSecret }, environment, { backend: spec.name, kind: "flag" })["--client-secret"];
    await exchangeToken({
      backend: spec.name,
      tokenEndpoint: auth.tokenEndpoint,
      subjectToken: new SubjectToken(PROBE_SUBJECT_TOKEN),
      audience: auth.audience ?? spec.url ?? spec.name,
      ...(auth.scope !== undefined && { scope: auth.scope }),
      ...(auth.clientId !== undefined && { clientId: auth.clientId }),
      ...(clientSecret !== undefined && { clientSecret }),
    });
  } catch (err) {
    if (err instanceof TokenExchangeError && err.code !== undefined && !CLIENT_ERRORS.has(err.code)) {
      return ok(check, `token-exchange: ${auth.tokenEndpoint} answers (it refused a made-up subject token: ${err.code}); ${notProbed}`);
    }
    return problemFrom(check, err, `check the backend's token exchange settings: mcpgw backend show ${spec.name}`);
  }
  return problem(
    check,
    `token-exchange: ${auth.tokenEndpoint} issued a token for a made-up subject token`,
    "that endpoint does not check subject tokens: point --token-endpoint at the identity provider's RFC 8693 endpoint",
  );
}
