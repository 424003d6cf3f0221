import { describe, expect, test } from "vitest";
import { matchesUriTemplate } from "./uri-template-match.ts";

describe("matchesUriTemplate (RFC 6570)", () => {
  test.each([
    ["test://template/{id}/data", "test://template/42/data", true],
    ["test://template/{id}/data", "test://template/4/2/data", false],
    ["test://template/{id}/data", "test://other/42/data", false],
    ["file:///{+path}", "file:///etc/passwd", true],
    ["file:///{path}", "file:///etc/passwd", false],
    ["docs://{lang}/page{?q,page}", "docs://en/page?q=x&page=2", true],
    ["docs://{lang}/page{?q,page}", "docs://en/page", true],
    ["repo://{owner}{/path*}", "repo://me/a/b/c", true],
    ["mail://{user}{#part}", "mail://bob#inbox", true],
    ["weather://{city}.{unit}", "weather://oslo.c", true],
    ["a.b://{x}", "aXb://1", false],
  ])("%s ~ %s: %s", (template, uri, expected) => {
    expect(matchesUriTemplate(template, uri)).toBe(expected);
  });

  test("a malformed template matches nothing", () => {
    expect(matchesUriTemplate("test://{id", "test://{id")).toBe(false);
    expect(matchesUriTemplate("test://{}", "test://")).toBe(false);
  });
});
