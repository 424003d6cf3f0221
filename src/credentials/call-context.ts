import { AsyncLocalStorage } from "node:async_hooks";
import type { SubjectToken } from "./subject-token.ts";

/** The call a backend request is made for: its id (in a gateway assertion) and who made it. */
export interface CallContext {
  id: string;
  subject: string;
  /** The roles policy decided by: the token's and those granted in the database. */
  roles: readonly string[];
  /** The caller's identity-provider token, when it authenticated with one (for --auth token-exchange); never kept past the call. */
  subjectToken?: SubjectToken;
  /**
   * The id of the per-caller credential the call's backend request carried, set when it is sent:
   * the secret's id (`sec_…`), the exchanged token's `jti`, or the gateway assertion's `jti`; never
   * a value. The call's audit outcome names it beside the mode its record names.
   */
  credentialId?: string;
}

/**
 * Carried through async calls from the admission pipeline (or a job run) to the backend
 * transport's fetch, which runs in the async context of the call that sent the message.
 */
const current = new AsyncLocalStorage<CallContext>();

/** Runs `fn` as the work of one call. */
export function runAsCall<T>(call: CallContext, fn: () => T): T {
  return current.run(call, fn);
}

/** The call being handled, if any (none for a connection's own traffic started outside a call). */
export function currentCall(): CallContext | undefined {
  return current.getStore();
}
