import { describe, expect, test } from "vitest";
import { createOriginGuard } from "./origin-guard.ts";

const request = (headers: Record<string, string>) =>
  new Request("http://127.0.0.1:8080/mcp", { method: "POST", headers: { host: "127.0.0.1:8080", ...headers } });

describe("the origin guard", () => {
  const guard = createOriginGuard({ allowedHosts: [], allowedOrigins: ["https://app.example.com"] });

  test("loopback and allow-listed origins pass, as does no Origin at all", () => {
    expect(guard(request({}))).toBeUndefined();
    expect(guard(request({ origin: "http://localhost:3000" }))).toBeUndefined();
    expect(guard(request({ origin: "https://app.example.com" }))).toBeUndefined();
  });

  test("a foreign origin and Origin: null are refused; null passes only when allowed by name", () => {
    expect(guard(request({ origin: "http://evil.example.com" }))).toContain("not allowed");
    expect(guard(request({ origin: "null" }))).toContain('Origin "null"');
    expect(createOriginGuard({ allowedHosts: [], allowedOrigins: ["null"] })(request({ origin: "null" }))).toBeUndefined();
  });
});
