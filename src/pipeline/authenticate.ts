import type { ClientRequestExtra } from "../front/front-session.ts";
import { UNAUTHENTICATED_CODE } from "../auth/unauthorized-response.ts";
import type { Principal } from "../auth/principal.ts";
import { Refusal } from "./refusal.ts";

/**
 * Stage 1: who is calling. The front authenticated the HTTP request before any session saw it
 * (src/auth/request-authenticator.ts) and handed the principal over as
 * authInfo.extra.principal — ANONYMOUS only when MCPGW_AUTH=off. A request that arrives
 * without one is refused: fail closed, whatever path it took.
 */
export function authenticate(extra: ClientRequestExtra): Principal {
  const principal = extra.authInfo?.extra?.principal as Principal | undefined;
  if (principal === undefined || typeof principal.subject !== "string") {
    throw new Refusal("unauthenticated", UNAUTHENTICATED_CODE, "Unauthorized: the request carries no authenticated principal");
  }
  return principal;
}
