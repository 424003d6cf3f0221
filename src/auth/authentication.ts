import type { Logger } from "../log/logger.ts";
import type { ChangeSource } from "../changes/change-topics.ts";
import type { AuthSettings } from "../config/auth-settings.ts";
import { KeyRing } from "./key-ring.ts";
import type { SigningKeyRepository } from "./signing-key-repository.ts";
import type { TokenRepository } from "./token-repository.ts";
import { RequestAuthenticator } from "./request-authenticator.ts";
import { RevocationList } from "./revocations.ts";
import { activeKey } from "./signing-key.ts";
import { ensureActiveSigningKey } from "./signing-keys.ts";
import { TokenVerifier } from "./token-verifier.ts";
import { type AuthGuidance, authGuidance, createWellKnownRoutes } from "./well-known.ts";

/** Authentication as the running gateway uses it. */
export interface Authentication {
  authenticator: RequestAuthenticator;
  /**
   * The open auth documents (RFC 9728 metadata, JWKS, and the answer at OAuth endpoints this
   * gateway does not have); undefined for other paths.
   */
  wellKnown(request: Request, path: string): Response | undefined;
  /** What a 401 tells a client reaching `request`: the RFC 9728 document's URL, if any, and how to get a token. */
  guidance(request: Request): AuthGuidance;
  /**
   * Called when credentials accepted earlier may have stopped being valid: after revocations or
   * keys were reloaded, and every few seconds for expiry. Open streams are re-checked then.
   */
  onCredentialsChanged(listener: () => void): void;
  stop(): void;
}

/** How often credentials held by open streams are checked for expiry. */
const EXPIRY_CHECK_MS = 5_000;

/**
 * Builds authentication for `mcpgw serve`: makes sure a signing key exists (the first start on a
 * fresh database creates one), and keeps the in-memory keys and revocations current through the
 * change watcher ("keys" and "tokens" topics, checked every 500 ms), so a `key retire` or
 * `token revoke` from the CLI or another replica applies within a second. Call before
 * watcher.start(), which performs the first load.
 */
export async function createAuthentication(
  auth: AuthSettings,
  store: { readonly signingKeys: SigningKeyRepository; readonly tokens: TokenRepository },
  logger: Logger,
  watcher: ChangeSource,
): Promise<Authentication> {
  await ensureActiveSigningKey(store, auth.signingAlg);
  const keys = new KeyRing();
  const revocations = new RevocationList();
  const listeners: (() => void)[] = [];
  const changed = () => {
    for (const listener of listeners) listener();
  };
  watcher.on("keys", async () => {
    const records = await store.signingKeys.list();
    await keys.load(records);
    logger.info({ active: activeKey(records)?.kid, keys: records.filter((k) => k.retiredAt === undefined).map((k) => k.kid) }, "signing keys loaded");
    changed();
  });
  watcher.on("tokens", async () => {
    await revocations.load((after) => store.tokens.revokedJtis(after));
    changed();
  });
  const expiryTimer = setInterval(changed, EXPIRY_CHECK_MS);
  expiryTimer.unref?.();

  if (auth.mode === "off") {
    logger.warn(
      "!!! AUTHENTICATION IS OFF (MCPGW_AUTH=off): every caller is anonymous and policy is not enforced. Development only: never expose this gateway.",
    );
  } else {
    logger.info(
      {
        issuer: auth.tokenIssuer,
        audience: auth.tokenAudience,
        sharedSecret: auth.sharedSecret !== undefined,
        ...(auth.external && { idp: { issuer: auth.external.issuer, jwks: auth.external.jwksUrl.href, audience: auth.external.audience } }),
      },
      "authentication required",
    );
  }
  const verifier = auth.mode === "required" ? new TokenVerifier({ auth, keys, revocations }) : undefined;
  return {
    authenticator: new RequestAuthenticator(auth.mode, verifier),
    wellKnown: createWellKnownRoutes({ auth, keys }),
    guidance: (request) => authGuidance(auth, request),
    onCredentialsChanged: (listener) => void listeners.push(listener),
    stop: () => clearInterval(expiryTimer),
  };
}
