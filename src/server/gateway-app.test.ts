import { describe, expect, test } from "vitest";
import { plainPathname } from "./gateway-app.ts";

describe("plainPathname", () => {
  test("reads the path of a plain absolute URL, without its query or fragment", () => {
    expect(plainPathname("http://127.0.0.1:8080/mcp/files")).toBe("/mcp/files");
    expect(plainPathname("http://gw.example.com/mcp?x=1")).toBe("/mcp");
    expect(plainPathname("https://gw.example.com:443/v1/jobs#top")).toBe("/v1/jobs");
    expect(plainPathname("http://[::1]:9000/")).toBe("/");
  });

  test("leaves anything the URL parser would normalise to it (dot segments, escapes, backslashes)", () => {
    for (const url of ["http://h/mcp/../v1/jobs", "http://h/mcp/./x", "http://h/mcp%2Fx", "http://h/mcp\\x", "http://h/openapi.json", "/relative"]) {
      expect(plainPathname(url)).toBeUndefined();
    }
    // Whatever it returns agrees with the parser.
    for (const url of ["http://127.0.0.1:8080/mcp/files", "http://h/a/b/c?q=.."]) expect(plainPathname(url)).toBe(new URL(url).pathname);
  });
});
