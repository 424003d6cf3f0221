import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { JOB_ROUTES } from "../src/jobs/job-api-schemas.ts";
import { cspViolations, loadPage, pngSize, requireChromium, screenshot } from "./helpers/chromium.ts";
import { REPO_ROOT } from "./helpers/cli.ts";
import { type TestGateway, startTestGateway } from "./helpers/gateway.ts";

const SCREENSHOT = join(REPO_ROOT, ".tmp", "api-docs.png");
// A blank 1280×1600 page is about 10 KB as PNG, an error message alone about 15 KB; the rendered docs are well over 100 KB.
const MIN_SCREENSHOT_BYTES = 60_000;

/**
 * Acceptance: /docs renders in a real browser, under its Content-Security-Policy, with no
 * network but the gateway's own origin, and lists the jobs endpoints.
 */
describe("/docs in headless Chromium", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway([], { auth: "required" });
  });
  afterAll(() => gw?.stop());

  test("the rendered DOM lists every jobs operation, and the page broke no Content-Security-Policy rule", async (context) => {
    const browser = requireChromium(context, "api-docs.browser.test.ts");
    const { dom, log } = await loadPage(browser, `${gw.base}/docs`);
    expect(cspViolations(log)).toEqual([]);
    // Swagger UI's markup: one .opblock per operation, its path in data-path.
    expect(dom).toContain('class="swagger-ui"');
    expect(dom).not.toContain("Failed to load API definition");
    const listed = renderedOperations(dom);
    for (const route of JOB_ROUTES) expect(listed).toContain(`${route.method} ${route.path}`);
    expect(listed).toContain("get /healthz");
    expect(dom).toContain("mcpgw");
  });

  test("a screenshot of the page shows it rendered (.tmp/api-docs.png)", async (context) => {
    const browser = requireChromium(context, "api-docs.browser.test.ts");
    mkdirSync(join(REPO_ROOT, ".tmp"), { recursive: true });
    rmSync(SCREENSHOT, { force: true });
    await screenshot(browser, `${gw.base}/docs`, SCREENSHOT, { width: 1280, height: 1600 });
    const png = readFileSync(SCREENSHOT);
    expect(pngSize(png)).toEqual({ width: 1280, height: 1600 });
    expect(png.byteLength).toBeGreaterThan(MIN_SCREENSHOT_BYTES);
  });
});

/** "method path" of each operation block Swagger UI rendered: `<div class="opblock opblock-get …">` … `data-path="/v1/jobs"`. */
function renderedOperations(dom: string): string[] {
  return dom
    .split('class="opblock opblock-')
    .slice(1)
    .flatMap((block) => {
      const method = /^[a-z]+/.exec(block)?.[0];
      const path = /data-path="([^"]+)"/.exec(block)?.[1];
      return method && path ? [`${method} ${path}`] : [];
    });
}
