import type { ClientRequestExtra } from "../front/front-session.ts";
import { ANONYMOUS, type Principal } from "./principal.ts";

/**
 * Stage 1: who is calling. Until JWT authentication lands (issue 4) every request is the
 * anonymous principal; the bearer token, when it exists, arrives as extra.authInfo.
 */
export function authenticate(_extra: ClientRequestExtra): Principal {
  return ANONYMOUS;
}
