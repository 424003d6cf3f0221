import { describe, expect, test } from "vitest";
import { McpgwError } from "../errors.ts";
import { REDACTED, hasLiteralSecrets, redactSecrets, redactUrl, resolveSecretRefs } from "./secret-refs.ts";

const owner = { backend: "github", kind: "header" } as const;

describe("resolveSecretRefs", () => {
  test("substitutes every reference from the environment and leaves other text alone", () => {
    const env = { API_KEY: "sk-1", USER_1: "ann", _X: "x" };
    expect(resolveSecretRefs({ Authorization: "Bearer ${API_KEY}", Basic: "${USER_1}:${_X}", Plain: "literal $API_KEY ${not valid}" }, env, owner)).toEqual({
      Authorization: "Bearer sk-1",
      Basic: "ann:x",
      Plain: "literal $API_KEY ${not valid}",
    });
  });

  test("does not re-expand a value that itself looks like a reference", () => {
    expect(resolveSecretRefs({ A: "${ONE}" }, { ONE: "${TWO}", TWO: "secret" }, owner)).toEqual({ A: "${TWO}" });
  });

  test("an unset or empty variable is an error naming backend, key, variable and what to do", () => {
    const attempt = () => resolveSecretRefs({ Authorization: "Bearer ${GH_TOKEN}", "X-Team": "${TEAM}" }, { TEAM: "" }, owner);
    expect(attempt).toThrow(McpgwError);
    try {
      attempt();
    } catch (err) {
      const error = err as McpgwError;
      expect(error.exitCode).toBe(1);
      expect(error.message).toContain('backend "github"');
      expect(error.message).toContain('header "Authorization" uses ${GH_TOKEN}');
      expect(error.message).toContain('header "X-Team" uses ${TEAM}');
      expect(error.message).toContain("GH_TOKEN, TEAM are not set");
      expect(error.hint).toContain("set GH_TOKEN and TEAM in the environment of mcpgw serve");
    }
  });

  test("names env keys for env values", () => {
    expect(() => resolveSecretRefs({ TOKEN: "${MISSING}" }, {}, { backend: "fs", kind: "env" })).toThrow(
      /backend "fs": env "TOKEN" uses \$\{MISSING\}, but MISSING is not set/,
    );
  });
});

describe("redactSecrets", () => {
  test("shows pure references, optionally after a scheme word", () => {
    const shown = { a: "${TOKEN}", b: "Bearer ${API_KEY}", c: "token ${A}${B}" };
    expect(redactSecrets(shown)).toEqual(shown);
    expect(hasLiteralSecrets(shown)).toBe(false);
  });

  test("hides every value with literal text, whatever it looks like", () => {
    const values = {
      literal: "Bearer sk-live-123",
      bare: "sk-live-123",
      mixed: "${USER}:hunter2",
      suffix: "${A} extra",
      longScheme: "AVeryLongSchemeWordIndeed ${A}",
      empty: "",
      spaced: " ${A}",
    };
    expect(Object.values(redactSecrets(values))).toEqual(Object.values(values).map(() => REDACTED));
    expect(hasLiteralSecrets({ a: "${A}", b: "x" })).toBe(true);
  });
});

describe("redactUrl", () => {
  test("hides a password and keeps everything else", () => {
    expect(redactUrl("https://user:pa55@mcp.example.com/mcp?x=1")).toBe("https://user:***@mcp.example.com/mcp?x=1");
    expect(redactUrl("https://mcp.example.com/mcp")).toBe("https://mcp.example.com/mcp");
  });
});
