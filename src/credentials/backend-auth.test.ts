import { describe, expect, test } from "vitest";
import { parseBackendInput } from "../backends/backend-input.ts";
import { UsageError } from "../errors.ts";
import { authInputOf, describeAuth, parseBackendAuth } from "./backend-auth.ts";

const URL = "https://tickets.example.com/mcp";

function usageMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as UsageError).message;
  }
  throw new Error("expected a UsageError");
}

describe("backend --auth", () => {
  test("static is the default and stores nothing; gateway-assertion keeps only the options given", () => {
    expect(parseBackendInput({ name: "t", url: URL }).auth).toBeUndefined();
    expect(parseBackendInput({ name: "t", url: URL, auth: "static" }).auth).toBeUndefined();
    expect(parseBackendInput({ name: "t", url: URL, auth: "gateway-assertion" }).auth).toEqual({ mode: "gateway-assertion" });
    const full = parseBackendInput({ name: "t", url: URL, auth: "gateway-assertion", authHeader: "X-Caller", assertionAudience: "tickets" });
    expect(full.auth).toEqual({ mode: "gateway-assertion", header: "X-Caller", audience: "tickets" });
    // Written back as flags, the same settings come out.
    expect(parseBackendInput({ name: "t", url: URL, ...authInputOf(full.auth) }).auth).toEqual(full.auth);
  });

  test("bad combinations are usage errors that say what to do", () => {
    expect(usageMessage(() => parseBackendInput({ name: "t", url: URL, auth: "oauth" }))).toBe('--auth "oauth" is not a credential mode');
    expect(usageMessage(() => parseBackendInput({ name: "t", url: URL, authHeader: "X-Caller" }))).toMatch(/need --auth gateway-assertion/);
    const staticWithAudience = { name: "t", url: URL, auth: "static", assertionAudience: "x" };
    expect(usageMessage(() => parseBackendInput(staticWithAudience))).toMatch(/apply only to --auth gateway-assertion/);
    const stdio = { name: "t", command: "node server.js", auth: "gateway-assertion" };
    expect(usageMessage(() => parseBackendInput(stdio))).toBe("--auth gateway-assertion applies only to --url (HTTP) backends");
    expect(usageMessage(() => parseBackendInput({ name: "t", url: URL, auth: "gateway-assertion", authHeader: "Bad Header" }))).toMatch(/is not a header name/);
    // The static header would be overwritten by the caller's credential: refused, case-insensitively.
    const clashing = { name: "t", url: URL, header: ["authorization: Bearer ${K}"], auth: "gateway-assertion" };
    expect(usageMessage(() => parseBackendInput(clashing))).toMatch(/--header authorization would be overwritten/);
    expect(parseBackendInput({ ...clashing, authHeader: "X-Caller" }).auth?.header).toBe("X-Caller");
  });

  test("per-subject-secret: HTTP only, with --auth-header, without an audience", () => {
    expect(parseBackendInput({ name: "t", url: URL, auth: "per-subject-secret" }).auth).toEqual({ mode: "per-subject-secret" });
    const header = parseBackendInput({ name: "t", url: URL, auth: "per-subject-secret", authHeader: "X-Api-Key" }).auth;
    expect(header).toEqual({ mode: "per-subject-secret", header: "X-Api-Key" });
    expect(parseBackendInput({ name: "t", url: URL, ...authInputOf(header) }).auth).toEqual(header);
    const stdio = { name: "t", command: "node server.js", auth: "per-subject-secret" };
    expect(usageMessage(() => parseBackendInput(stdio))).toBe("--auth per-subject-secret applies only to --url (HTTP) backends");
    const audience = { name: "t", url: URL, auth: "per-subject-secret", assertionAudience: "x" };
    expect(usageMessage(() => parseBackendInput(audience))).toMatch(/--assertion-audience applies only to --auth gateway-assertion/);
    const clashing = { name: "t", url: URL, header: ["X-Api-Key: ${K}"], auth: "per-subject-secret", authHeader: "x-api-key" };
    expect(usageMessage(() => parseBackendInput(clashing))).toMatch(/--header X-Api-Key would be overwritten/);
    expect(describeAuth(header, URL)).toBe("per-subject-secret: the calling subject's own secret (mcpgw secret set) in X-Api-Key");
    expect(describeAuth({ mode: "per-subject-secret" }, URL)).toMatch(/in Authorization: Bearer …$/);
  });

  test("described for backend show by mode and header, the audience defaulting to the URL", () => {
    expect(describeAuth(undefined, URL)).toMatch(/^static/);
    const described = describeAuth({ mode: "gateway-assertion" }, URL);
    expect(described).toBe(`gateway-assertion: a JWT per call signed by the gateway (aud ${URL}) in Authorization: Bearer …`);
    expect(parseBackendAuth({ auth: "gateway-assertion", authHeader: "X-A" }, "http", {})).toEqual({ mode: "gateway-assertion", header: "X-A" });
  });
});
