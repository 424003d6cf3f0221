/**
 * Why a request was not authenticated. Each reason is specific, so that logs and audit records say
 * exactly what was wrong with a token; the client gets the same reason in error_description.
 */
export const AUTH_FAILURE_REASONS = {
  missing_token: "no bearer token",
  malformed: "the token is not a well-formed JWT",
  oversized: "the token is larger than accepted",
  alg_none: 'the token is unsigned (alg "none")',
  algorithm_confusion: "a symmetric algorithm where only asymmetric keys apply",
  algorithm_not_allowed: "the token's algorithm is not accepted for its key",
  unknown_kid: "the token names no key the gateway knows",
  retired_key: "the token was signed with a retired key",
  bad_signature: "the token's signature does not verify",
  expired: "the token has expired",
  not_yet_valid: "the token is not valid yet",
  issued_in_future: "the token says it was issued later than now",
  lifetime_too_long: "the token is valid for longer than this gateway accepts",
  wrong_issuer: "the token was issued by an issuer this gateway does not trust",
  wrong_audience: "the token was issued for another audience",
  missing_claim: "the token lacks a required claim",
  revoked: "the token was revoked",
  key_source_unavailable: "the identity provider's keys could not be fetched",
} as const;

export type AuthFailureReason = keyof typeof AUTH_FAILURE_REASONS;

/** A refused credential: the reason (stable, for logs, audit and tests) and a detail for people. */
export class AuthFailure extends Error {
  constructor(
    readonly reason: AuthFailureReason,
    readonly detail: string = AUTH_FAILURE_REASONS[reason],
  ) {
    super(`${reason}: ${detail}`);
    this.name = "AuthFailure";
  }

  /** The IdP being down is not the client's fault: 503, not 401, so clients retry instead of re-authenticating. */
  get status(): 401 | 503 {
    return this.reason === "key_source_unavailable" ? 503 : 401;
  }
}
