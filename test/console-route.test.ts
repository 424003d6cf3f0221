import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { resolveSettings } from "../src/config/settings.ts";
import { sseParser, type ServerSentEvent } from "../src/console/app/sse-reader.ts";
import { CONSOLE_CONTENT_SECURITY_POLICY, createConsoleRoutes } from "../src/console/console-route.ts";
import { bundleConsole } from "../src/console/console-assets.ts";
import { REPO_ROOT } from "./helpers/cli.ts";
import { type TestGateway, startTestGateway } from "./helpers/gateway.ts";

/**
 * The web console's serving (issue 20): /admin and its two files from a real gateway, under the
 * strict Content-Security-Policy, nothing else under /admin, no cookie, MCPGW_CONSOLE=off; the
 * bundle's size; the SSE parser the live page reads the call stream with. The pages themselves
 * are driven in Chromium by console.browser.test.ts.
 */

const MAX_GZIPPED_BYTES = 300 * 1024;

describe("/admin on a gateway", () => {
  let gw: TestGateway;
  let off: TestGateway;
  beforeAll(async () => {
    [gw, off] = await Promise.all([startTestGateway([], { auth: "required" }), startTestGateway([], { auth: "required", console: "off" })]);
  });
  afterAll(async () => {
    await Promise.all([gw?.stop(), off?.stop()]);
  });

  test("GET /admin is the page, open (no token), with the strict CSP, nosniff, no referrer, no-store and no cookie", async () => {
    const response = await fetch(`${gw.base}/admin`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(response.headers.get("content-security-policy")).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(response.headers.get("referrer-policy")).toBe("no-referrer");
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(response.headers.get("set-cookie")).toBeNull();
    const page = await response.text();
    // Only the page's own two files, by relative paths (a proxy prefix carries over); no inline script or style.
    expect([...page.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1])).toEqual(["data:,", "admin/app.css", "openapi.json", "admin/app.js"]);
    expect(page).not.toMatch(/<script>|<style|style=/);
  });

  test("app.js and app.css are served (gzipped when asked, 304 when unchanged), and nothing else is under /admin", async () => {
    const script = await fetch(`${gw.base}/admin/app.js`, { headers: { "accept-encoding": "identity" } });
    expect(script.status).toBe(200);
    expect(script.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(script.headers.get("x-content-type-options")).toBe("nosniff");
    const body = await script.text();
    expect(body).toContain("v1/admin/calls/stream");
    // Types only from the API's schemas: zod never reaches the browser.
    expect(body).not.toMatch(/ZodError|zod\/v4/);
    const etag = script.headers.get("etag")!;
    expect((await fetch(`${gw.base}/admin/app.js`, { headers: { "if-none-match": etag } })).status).toBe(304);
    const css = await fetch(`${gw.base}/admin/app.css`, { headers: { "accept-encoding": "gzip" } });
    expect(css.status).toBe(200);
    expect(css.headers.get("content-type")).toBe("text/css; charset=utf-8");
    expect(await css.text()).toContain(".status");

    for (const path of ["/admin/index.html", "/admin/app.js.map", "/admin/../package.json", "/admin/x/app.js"]) {
      const response = await fetch(`${gw.base}${path}`);
      expect(response.status, path).toBe(404);
    }
    const slash = await fetch(`${gw.base}/admin/`, { redirect: "manual" });
    expect(slash.status).toBe(308);
    expect(slash.headers.get("location")).toBe("../admin");
    const post = await fetch(`${gw.base}/admin`, { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
  });

  test("MCPGW_CONSOLE=off: every console path answers 404 saying the console is off; the admin API still answers", async () => {
    for (const path of ["/admin", "/admin/app.js", "/admin/app.css"]) {
      const response = await fetch(`${off.base}${path}`);
      expect(response.status, path).toBe(404);
      expect(await response.json()).toEqual({
        error: "the web console is off on this gateway (MCPGW_CONSOLE=off)",
        hint: "set MCPGW_CONSOLE=on to serve it; the admin API at /v1/admin/… answers either way",
      });
    }
    expect((await fetch(`${off.base}/v1/admin/roles`)).status).toBe(401);
  });
});

describe("the console's setting and bundle", () => {
  test("MCPGW_CONSOLE is on by default, on/off otherwise, and anything else stops the program naming the variable", () => {
    expect(resolveSettings({}, {}).console).toBe(true);
    expect(resolveSettings({}, { console: "off" }).console).toBe(false);
    expect(resolveSettings({}, { console: "on" }).console).toBe(true);
    expect(() => resolveSettings({}, { console: "no" })).toThrow(/MCPGW_CONSOLE: "no" is neither on nor off/);
  });

  test(`the bundle (app.js + app.css) is at most ${MAX_GZIPPED_BYTES / 1024} KB gzipped`, async () => {
    const assets = await bundleConsole();
    const gzipped = Bun.gzipSync(assets.script).byteLength + Bun.gzipSync(assets.stylesheet).byteLength;
    expect(gzipped).toBeLessThanOrEqual(MAX_GZIPPED_BYTES);
    // A real bundle, not an empty file: Preact and the pages.
    expect(gzipped).toBeGreaterThan(5 * 1024);
  });

  test("the CSP names no 'unsafe-…' source and no other origin", () => {
    expect(CONSOLE_CONTENT_SECURITY_POLICY).not.toMatch(/unsafe|https?:|\*/);
  });

  test("only the console's app imports preact; the gateway's own code does not", () => {
    const importers: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (/\.tsx?$/.test(name) && /from "preact(?:\/[a-z-]+)?"/.test(readFileSync(path, "utf8"))) importers.push(relative(REPO_ROOT, path));
      }
    };
    for (const folder of ["src", "cli"]) walk(join(REPO_ROOT, folder));
    expect(importers.length).toBeGreaterThan(0);
    expect(importers.filter((path) => !path.startsWith("src/console/app/"))).toEqual([]);
  });

  test("a route that is off serves nothing, and one that is on loads its files once", async () => {
    let loads = 0;
    const assets = async () => {
      loads += 1;
      return { script: new TextEncoder().encode("console.log(1)"), stylesheet: new TextEncoder().encode("body{}") };
    };
    const route = createConsoleRoutes({ enabled: true, assets });
    expect(route(new Request("http://x/adminx"), "/adminx")).toBeUndefined();
    expect(route(new Request("http://x/v1/admin/roles"), "/v1/admin/roles")).toBeUndefined();
    await route(new Request("http://x/admin/app.js"), "/admin/app.js");
    await route(new Request("http://x/admin/app.css"), "/admin/app.css");
    expect(loads).toBe(1);
  });
});

describe("the live page's SSE parser", () => {
  test("events split anywhere across chunks, CRLF or LF, comments skipped, multi-line data joined", () => {
    const events: ServerSentEvent[] = [];
    const feed = sseParser((event) => events.push(event));
    const stream = ': keepalive\n\nevent: call\ndata: {"a":1}\n\r\nevent: dropped\r\ndata: {"count":3}\r\n\r\ndata: one\ndata: two\n\n';
    for (let i = 0; i < stream.length; i += 3) feed(stream.slice(i, i + 3));
    expect(events).toEqual([
      { event: "call", data: '{"a":1}' },
      { event: "dropped", data: '{"count":3}' },
      { event: "message", data: "one\ntwo" },
    ]);
  });

  test("an event without its blank line yet is not reported", () => {
    const events: ServerSentEvent[] = [];
    const feed = sseParser((event) => events.push(event));
    feed("event: call\ndata: {}\n");
    expect(events).toEqual([]);
    feed("\n");
    expect(events).toHaveLength(1);
  });
});
