import type { AuthMode } from "./backend-auth.ts";

/** Who a backend connection speaks for: the authenticated caller, as far as credentials need. */
export interface CredentialCaller {
  subject: string;
  roles: readonly string[];
}

/**
 * A backend's per-caller credential, bound to one caller. Connections are keyed by `key`: two
 * callers share a backend connection (and so a backend session) only when their keys are equal.
 */
export interface BoundCredential {
  readonly mode: Exclude<AuthMode, "static">;
  readonly key: string;
  readonly subject: string;
  /** The credential headers of one request to the backend, made when it is sent (an assertion is minted per call). */
  headers(): Promise<Record<string, string>>;
  /**
   * Checks, before a connection opens, that a credential can be made for the caller at all (a
   * per-subject secret is stored); throws the call's error if not. The connection does not count
   * that as a failed attempt at the backend (no backoff), so the call after an operator's fix works.
   */
  prepare?(): Promise<void>;
}

/**
 * A fetch for a backend HTTP transport that adds the bound credential's headers to every request
 * (POSTs, the GET stream, DELETE). The SDK's headers are copied, never changed: the hot path
 * shares one plain object between its POSTs.
 */
export function credentialFetch(inner: typeof fetch, credential: BoundCredential): typeof fetch {
  const adding = async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
    const headers = new Headers(init?.headers);
    for (const [name, value] of Object.entries(await credential.headers())) headers.set(name, value);
    return inner(input, { ...init, headers });
  };
  return Object.assign(adding, { preconnect: fetch.preconnect }) as typeof fetch;
}
