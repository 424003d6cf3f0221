import { describe, expect, test } from "vitest";
import { AUDIT_DEFAULTS } from "../config/audit-settings.ts";
import { REDACTED, capJson, createRedactor } from "./redact.ts";

const JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImlhdCI6MTUxNjIzOTAyMn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
const PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7nZ3rZ2s\nQ2x1c3RlcktleQ==\n-----END RSA PRIVATE KEY-----";
const redactor = createRedactor({ keys: AUDIT_DEFAULTS.redactKeys, maxArgumentBytes: 4_096 });
const redact = (value: unknown) => JSON.parse(redactor.arguments(value)!) as unknown;

describe("redaction by key", () => {
  test.each([
    ["password", { password: "hunter2" }, { password: REDACTED }],
    ["case-insensitive", { PassWord: "hunter2" }, { PassWord: REDACTED }],
    ["separators ignored", { "x-api-key": "k1", API_KEY: "k2", apiKey: "k3" }, { "x-api-key": REDACTED, API_KEY: REDACTED, apiKey: REDACTED }],
    [
      "substring",
      { db_password: "p", githubToken: "t", client_secret: "s", refresh_token: "r" },
      { db_password: REDACTED, githubToken: REDACTED, client_secret: REDACTED, refresh_token: REDACTED },
    ],
    [
      "headers",
      { headers: { Authorization: "x", Cookie: "sid=1", accept: "json" } },
      { headers: { Authorization: REDACTED, Cookie: REDACTED, accept: "json" } },
    ],
    ["whole value, any type", { secret: { nested: ["a", 1] }, passwd: 1234 }, { secret: REDACTED, passwd: REDACTED }],
    ["inside arrays", { users: [{ name: "a", password: "p" }] }, { users: [{ name: "a", password: REDACTED }] }],
    ["private_key", { private_key: "k", privateKey: "k" }, { private_key: REDACTED, privateKey: REDACTED }],
    ["other keys untouched", { path: "/tmp/x", count: 3, ok: true, none: null }, { path: "/tmp/x", count: 3, ok: true, none: null }],
  ])("%s", (_name, input, expected) => {
    expect(redact(input)).toEqual(expected);
  });

  test("a custom key list replaces the default", () => {
    const custom = createRedactor({ keys: ["ssn"], maxArgumentBytes: 4_096 });
    expect(JSON.parse(custom.arguments({ ssn: "123", password: "kept" })!)).toEqual({ ssn: REDACTED, password: "kept" });
  });
});

describe("redaction by value", () => {
  test.each([
    ["bearer token in a string", { text: `curl -H "Authorization: Bearer ${JWT}" x` }, /Bearer \[REDACTED\]/],
    ["bare JWT", { note: `token is ${JWT}` }, /\[REDACTED jwt\]/],
    ["PEM private key", { file: `key:\n${PEM}\nrest` }, /\[REDACTED private key\]\nrest/],
    ["PEM cut short", { file: PEM.slice(0, 50) }, /^\[REDACTED private key\]$/],
    ["github token", { s: "use ghp_abcdefghijklmnopqrstuvwxyz0123456789 here" }, /use \[REDACTED github token\] here/],
    ["slack token", { s: "xoxb-1234567890-abcdefghij" }, /\[REDACTED slack token\]/],
    ["aws access key", { s: "AKIAIOSFODNN7EXAMPLE" }, /\[REDACTED aws key\]/],
    ["sk- api key", { s: "sk-ant-api03-abcdefghijklmnopqrstuvwxyz" }, /\[REDACTED api key\]/],
    ["URL password", { url: "postgres://app:s3cr3t@db:5432/x" }, /postgres:\/\/app:\[REDACTED\]@db:5432\/x/],
    ["key=value in text", { q: "user=bob&password=hunter2&x=1" }, /password=\[REDACTED\]&x=1/],
    ["JSON carried in a string", { body: '{"password": "hunter2", "a": 1}' }, /"password": \[REDACTED\], "a": 1/],
    ["array items", { list: ["plain", `Bearer ${"a".repeat(20)}`] }, /\["plain","Bearer \[REDACTED\]"\]/],
  ])("%s", (_name, input, expected) => {
    const text = redactor.arguments(input)!;
    // The values as plain text (not JSON-escaped), so patterns read naturally.
    const values = Object.values(JSON.parse(text) as Record<string, unknown>).map((v) => (typeof v === "string" ? v : JSON.stringify(v)));
    expect(values.join("\n")).toMatch(expected);
    for (const secret of ["hunter2", JWT, "s3cr3t", "MIIEpAIBAAKCAQEA", "ghp_abc", "AKIAIOSFODNN7EXAMPLE"]) expect(text).not.toContain(secret);
  });

  test.each([
    ["prose mentioning bearer", "the bearer of news"],
    ["short words after Basic", "Basic usage"],
    ["a plain sentence", "list the files in /tmp"],
  ])("%s is left alone", (_name, text) => {
    expect(redactor.text(text)).toBe(text);
  });

  test("error messages are scrubbed and capped", () => {
    expect(redactor.text(`rejected Bearer ${JWT}`)).toBe(`rejected Bearer ${REDACTED}`);
    expect(redactor.text("x".repeat(50), 10)).toBe(`${"x".repeat(10)}… (50 characters)`);
  });
});

describe("size cap", () => {
  test("small arguments are kept whole", () => {
    expect(redactor.arguments({ text: "hi" })).toBe('{"text":"hi"}');
    expect(redactor.arguments(undefined)).toBeNull();
  });

  test.each([
    ["ascii", "a"],
    ["multi-byte", "é"],
    ["astral", "😀"],
  ])("%s: big arguments are truncated within the cap, with the original size", (_name, unit) => {
    const big = { text: unit.repeat(10_000) };
    const original = new TextEncoder().encode(JSON.stringify(big)).length;
    const text = redactor.arguments(big)!;
    expect(new TextEncoder().encode(text).length).toBeLessThanOrEqual(4_096);
    const parsed = JSON.parse(text) as { $truncated: { bytes: number; preview: string } };
    expect(parsed.$truncated.bytes).toBe(original);
    expect(parsed.$truncated.preview.startsWith('{"text":"')).toBe(true);
    expect(parsed.$truncated.preview.length).toBeGreaterThan(100);
  });

  test("redaction happens before truncation, so a cut never exposes a secret", () => {
    const text = redactor.arguments({ password: "hunter2", filler: "x".repeat(10_000), auth: `Bearer ${JWT}` })!;
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain(JWT.slice(0, 20));
  });

  test("capJson with a tiny cap still returns valid JSON", () => {
    expect(() => JSON.parse(capJson(JSON.stringify({ a: "b".repeat(100) }), 10))).not.toThrow();
  });

  // Not a benchmark: a guard against patterns that backtrack quadratically on caller-controlled
  // text (the bound is 100× what linear scanning of 200 KB takes).
  test.each([
    ["a long word", "a".repeat(200_000)],
    ["dotted", "a.".repeat(100_000)],
    ["key words", "password".repeat(25_000)],
    ["scheme-like", "x://".repeat(50_000)],
    ["bearer-like", "Bearer ".repeat(30_000)],
  ])("%s: 200 KB of adversarial text is scrubbed in linear time", (_name, text) => {
    const started = performance.now();
    redactor.text(text, Number.MAX_SAFE_INTEGER);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  test("deep nesting is cut off instead of exhausting the stack", () => {
    let deep: unknown = "bottom";
    for (let i = 0; i < 10_000; i++) deep = [deep];
    expect(() => redactor.arguments(deep)).not.toThrow();
  });
});
