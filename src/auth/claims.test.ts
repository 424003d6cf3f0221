import { describe, expect, test } from "vitest";
import { AuthFailure } from "./auth-failure.ts";
import { claimAt, rolesFrom, subjectFrom } from "./claims.ts";

describe("claims", () => {
  const payload = {
    sub: "u1",
    email: "a@example.com",
    "https://example.com/roles": ["x"],
    realm_access: { roles: ["r1", "r2"] },
    groups: "g1 g2,g3",
    scope: 3,
  };

  test("claimAt reads dotted paths, and claim names that contain dots", () => {
    expect(claimAt(payload, "realm_access.roles")).toEqual(["r1", "r2"]);
    expect(claimAt(payload, "https://example.com/roles")).toEqual(["x"]);
    expect(claimAt(payload, "realm_access.missing")).toBeUndefined();
    expect(claimAt(payload, "toString")).toBeUndefined();
  });

  test("the subject is a non-empty printable string", () => {
    expect(subjectFrom(payload, "email")).toBe("a@example.com");
    expect(() => subjectFrom(payload, "nope")).toThrow(AuthFailure);
    expect(() => subjectFrom({ sub: "a\nb" }, "sub")).toThrow(/not a usable subject/);
    expect(() => subjectFrom({ sub: 42 } as never, "sub")).toThrow(/not a usable subject/);
  });

  test("roles come from the first claim present, as an array or a separated string", () => {
    expect(rolesFrom(payload, ["roles", "realm_access.roles", "groups"])).toEqual(["r1", "r2"]);
    expect(rolesFrom(payload, ["groups"])).toEqual(["g1", "g2", "g3"]);
    expect(rolesFrom(payload, ["none"])).toEqual([]);
    expect(rolesFrom({ roles: ["a", "a"] }, ["roles"])).toEqual(["a"]);
    expect(() => rolesFrom(payload, ["scope"])).toThrow(/not a list of role names/);
    expect(() => rolesFrom({ roles: [1] }, ["roles"])).toThrow(/not a list of role names/);
  });
});
