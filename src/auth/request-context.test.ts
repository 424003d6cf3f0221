import { describe, expect, test } from "vitest";
import { ANONYMOUS } from "./principal.ts";
import { contextAuthInfo, principalOf, requestContext } from "./request-context.ts";

describe("request context", () => {
  test("what the authenticator attaches is what the stages read back", () => {
    const principal = { subject: "alice", roles: ["dev"], anonymous: false };
    const authInfo = contextAuthInfo({ token: "t", clientId: "alice", scopes: [] }, { principal, source: "own", jti: "j1" });
    expect(requestContext(authInfo)).toEqual({ principal, source: "own", jti: "j1" });
    expect(principalOf(authInfo)).toBe(principal);
    expect(principalOf(contextAuthInfo({ token: "", clientId: "anonymous", scopes: [] }, { principal: ANONYMOUS, source: "none" }))).toBe(ANONYMOUS);
  });

  test("a request without a well-formed context has no principal: the pipeline refuses it (fail closed)", () => {
    expect(principalOf(undefined)).toBeUndefined();
    expect(principalOf({ token: "t", clientId: "c", scopes: [] })).toBeUndefined();
    expect(principalOf({ token: "t", clientId: "c", scopes: [], extra: { principal: "alice" } })).toBeUndefined();
    expect(principalOf({ token: "t", clientId: "c", scopes: [], extra: { principal: { subject: 42, roles: [] } } })).toBeUndefined();
    expect(principalOf({ token: "t", clientId: "c", scopes: [], extra: { principal: null } })).toBeUndefined();
  });
});
