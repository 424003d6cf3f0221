import type { JWTPayload } from "jose";
import { AuthFailure } from "./auth-failure.ts";

const MAX_SUBJECT_LENGTH = 256;
const MAX_ROLES = 256;

/** A claim by dotted path ("realm_access.roles"); a claim whose own name has a dot is found first. */
export function claimAt(payload: JWTPayload, path: string): unknown {
  if (Object.hasOwn(payload, path)) return payload[path];
  let value: unknown = payload;
  for (const part of path.split(".")) {
    if (typeof value !== "object" || value === null || !Object.hasOwn(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** The subject: a non-empty string of printable characters. */
export function subjectFrom(payload: JWTPayload, claim: string): string {
  const value = claimAt(payload, claim);
  if (value === undefined) throw new AuthFailure("missing_claim", `the token has no "${claim}" claim (the subject)`);
  if (typeof value !== "string" || value === "" || value.length > MAX_SUBJECT_LENGTH || /[\u0000-\u001f\u007f]/.test(value)) {
    throw new AuthFailure(
      "malformed",
      `the "${claim}" claim is not a usable subject (a non-empty string of at most ${MAX_SUBJECT_LENGTH} printable characters)`,
    );
  }
  return value;
}

/**
 * The roles: from the first of the claims that is present, either an array of strings or one
 * string of space- or comma-separated names (as some providers write groups and scopes).
 * No roles claim means no roles; the policy's bindings may still grant some.
 */
export function rolesFrom(payload: JWTPayload, claims: readonly string[]): string[] {
  for (const claim of claims) {
    const value = claimAt(payload, claim);
    if (value === undefined) continue;
    const roles = typeof value === "string" ? value.split(/[\s,]+/).filter((role) => role !== "") : value;
    if (!Array.isArray(roles) || roles.length > MAX_ROLES || roles.some((role) => typeof role !== "string" || role === "")) {
      throw new AuthFailure("malformed", `the "${claim}" claim is not a list of role names`);
    }
    return [...new Set(roles as string[])];
  }
  return [];
}
