import type { ClientRequestExtra } from "./caller-session.ts";
import { UNAUTHENTICATED_CODE } from "../auth/unauthorized-response.ts";
import type { Principal } from "../auth/principal.ts";
import { principalOf } from "../auth/request-context.ts";
import { Refusal } from "./refusal.ts";

/**
 * Stage 1: who is calling. The front authenticated the HTTP request before any session saw it
 * (src/auth/request-authenticator.ts) and handed the principal over as
 * its request context (src/auth/request-context.ts) — ANONYMOUS only when MCPGW_AUTH=off. A request that arrives
 * without one is refused: fail closed, whatever path it took.
 */
export function authenticate(extra: ClientRequestExtra): Principal {
  const principal = principalOf(extra.authInfo);
  if (principal === undefined) {
    throw new Refusal("unauthenticated", UNAUTHENTICATED_CODE, "Unauthorized: the request carries no authenticated principal");
  }
  return principal;
}
