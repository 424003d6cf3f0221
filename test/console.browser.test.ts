import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { type BrowserContext, type Page, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { issueToken } from "../src/auth/token-issuer.ts";
import { parsePermission } from "../src/policy/permission.ts";
import { findChromium, pngSize, requireChromium } from "./helpers/chromium.ts";
import { REPO_ROOT } from "./helpers/cli.ts";
import { BUN, type TestGateway, connectClient, refusalOf, startTestGateway } from "./helpers/gateway.ts";

/**
 * Acceptance 2 and 3 of issue 20 in a real browser: Debian's Chromium, driven by playwright-core
 * (which downloads nothing), against a real gateway with authentication on. An operator pastes an
 * admin token; a call by another client (the real MCP SDK client, with its own token) shows in the
 * live table within a second of its answer; the operator finds it in audit search and opens its
 * detail, revokes the client's token (its next request is refused, 401), runs the policy checker;
 * a token without admin permissions sees the clear 403 message. No Content-Security-Policy
 * violation on the way. Each page's screenshot goes to .tmp/console/.
 */

const SHOTS = join(REPO_ROOT, ".tmp", "console");
// A blank 1280×900 page is about 5 KB as PNG, a page with a line of text about 15 KB; a rendered console page is well over.
const MIN_SCREENSHOT_BYTES = 30_000;
const LIVE_WITHIN_MS = 1_000;
const AUTH = { tokenIssuer: "mcpgw", tokenAudience: "mcpgw", signingAlg: "EdDSA" as const };
const LAB = { name: "lab", command: [BUN, join(REPO_ROOT, "test/fixtures/lab-server.ts"), "--stdio"], env: { LAB_NAME: "lab" } };
const AGENT = "agent-7";
const BROWSER_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

describe("the web console in headless Chromium", () => {
  let gw: TestGateway;
  const tokens = { admin: "", agent: "", viewer: "" };
  let agent: Client | undefined;
  /** A second client that stays connected (its token is not revoked): its session shows on the backends page. */
  let other: Client | undefined;
  let browser: BrowserContext | undefined;
  let profile: string | undefined;
  let page: Page;
  /** Content-Security-Policy violations and script errors the pages reported. */
  const problems: string[] = [];
  const marker = `console-${crypto.randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    // Sessions are published every 250 ms (default 5 s), so the backends page lists the open one at once.
    gw = await startTestGateway(
      [LAB],
      { auth: "required", sessionSnapshotInterval: "250ms" },
      {
        prepare: async (store) => {
          const rule = (effect: "allow" | "deny", text: string) => ({ effect, permission: parsePermission(text) });
          await store.roles.create({ name: "operators", description: "run the gateway", rules: [rule("allow", "admin:*")] });
          await store.roles.create({ name: "agents", rules: [rule("allow", "lab/*"), rule("deny", "lab/crash")] });
          await store.roles.grant("agents", AGENT);
          // A rule of each scope: a subject's, a role's (counted per subject of the role), and a global quota.
          const limit = { toolPattern: "lab/*", periodMs: 60_000, createdAt: Date.now() };
          await store.limits.set({ ...limit, id: "lim_console1", scope: "subject", scopeValue: AGENT, count: 100, burst: 100 });
          await store.limits.set({ ...limit, id: "lim_console2", scope: "role", scopeValue: "agents", count: 300, burst: 50 });
          await store.limits.set({ id: "lim_console3", scope: "global", count: 5_000, periodMs: 3_600_000, burst: 5_000, createdAt: Date.now() });
          const issue = async (subject: string, roles: string[], description?: string) =>
            (await issueToken(store, AUTH, { subject, roles, ttlMs: 3_600_000, ...(description && { description }) })).token;
          tokens.admin = await issue("alice", ["operators"], "console operator");
          tokens.agent = await issue(AGENT, ["agents"], "the agent under watch");
          tokens.viewer = await issue("bob", ["agents"]);
        },
      },
    );
    // Traffic before the page opens, so the plots have something to draw: calls and a refusal.
    agent = await connectClient(gw.mcpUrl("lab"), {}, "console-test-agent", { token: tokens.agent });
    for (let i = 0; i < 3; i++) await agent.callTool({ name: "echo", arguments: { text: `warm-up ${i}` } });
    await refusalOf(agent.callTool({ name: "crash", arguments: {} }));
    other = await connectClient(gw.mcpUrl("lab"), {}, "console-test-other", { token: tokens.viewer });
    await other.callTool({ name: "echo", arguments: { text: "another client" } });

    const executablePath = findChromium();
    if (!executablePath) return; // each test then skips (or, under CI, fails) through requireChromium
    profile = mkdtempSync(join(tmpdir(), "mcpgw-console-"));
    browser = await chromium.launchPersistentContext(profile, { executablePath, headless: true, args: BROWSER_ARGS, viewport: { width: 1280, height: 900 } });
    // Violations reach the test both ways: the browser's own console message, and the DOM event, reported from the page.
    await browser.addInitScript(() => {
      document.addEventListener("securitypolicyviolation", (event) => {
        console.error(`Content Security Policy violation: ${event.violatedDirective} blocked ${event.blockedURI}`);
      });
    });
    browser.on("console", (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) problems.push(message.text());
    });
    browser.on("weberror", (error) => problems.push(`page error: ${error.error().message}`));
    // Well under the test's own timeout, so a missing element fails with the browser's message naming it.
    browser.setDefaultTimeout(10_000);
    page = browser.pages()[0] ?? (await browser.newPage());
    mkdirSync(SHOTS, { recursive: true });
  }, 90_000);

  afterAll(async () => {
    await agent?.close().catch(() => undefined);
    await other?.close().catch(() => undefined);
    await browser?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await gw?.stop();
  });

  /** Writes .tmp/console/NAME.png (the whole page) and checks it shows a rendered page, not a blank or an error. */
  async function shoot(name: string, minBytes = MIN_SCREENSHOT_BYTES): Promise<void> {
    const file = join(SHOTS, `${name}.png`);
    rmSync(file, { force: true });
    await page.screenshot({ path: file, fullPage: true });
    const png = readFileSync(file);
    expect(pngSize(png).width).toBe(1280);
    expect(png.byteLength, `${name}.png`).toBeGreaterThan(minBytes);
  }

  async function logIn(target: Page, token: string): Promise<void> {
    await target.goto(`${gw.base}/admin`);
    await target.fill("#token-form input[name=token]", token);
    await target.click("#token-form button[type=submit]");
  }

  test("log in by pasting an admin token: the token is kept for the tab, in sessionStorage, never in a cookie", async (context) => {
    requireChromium(context, "console.browser.test.ts");
    await page.goto(`${gw.base}/admin`);
    await page.waitForSelector("#token-form");
    // The prompt is one small box of text: less to draw than a page of data, more than a blank page.
    await shoot("login", 15_000);
    await logIn(page, tokens.admin);
    await page.waitForSelector("header.top nav a.current");
    expect(await page.textContent("header.top nav a.current")).toBe("Live calls");
    expect(await page.evaluate(() => sessionStorage.getItem("mcpgw.console.token"))).toBe(tokens.admin);
    expect(await browser!.cookies()).toEqual([]);
  });

  test(`a call by another client appears in the live table within ${LIVE_WITHIN_MS} ms of its answer`, async (context) => {
    requireChromium(context, "console.browser.test.ts");
    await page.waitForSelector(".connection.live");
    // The page notes when the row arrives (its clock and this process's are the machine's).
    await page.evaluate((subject) => {
      const seen = window as unknown as { seenAt?: number };
      const body = document.querySelector("#live-calls tbody")!;
      new MutationObserver((mutations) => {
        for (const mutation of mutations)
          for (const node of mutation.addedNodes)
            if (!seen.seenAt && node instanceof HTMLElement && node.textContent?.includes(subject) && node.textContent.includes("lab/echo"))
              seen.seenAt = Date.now();
      }).observe(body, { childList: true });
    }, AGENT);
    await agent!.callTool({ name: "echo", arguments: { text: marker } });
    const answeredAt = Date.now();
    const seenAt = (await (
      await page.waitForFunction(() => (window as unknown as { seenAt?: number }).seenAt, undefined, { timeout: 5_000 })
    ).jsonValue()) as number;
    expect(seenAt - answeredAt).toBeLessThan(LIVE_WITHIN_MS);
    await context.annotate(`the row appeared ${seenAt - answeredAt} ms after the call's answer`);
    const row = page.locator("#live-calls tr.call-row", { hasText: "lab/echo" }).first();
    expect(await row.locator("td.subject").textContent()).toBe(AGENT);
    expect(await row.textContent()).toContain("ok");

    // The filter keeps matching rows only; pause holds new calls until resumed.
    await page.fill("#live-filter", "crash");
    expect(await page.locator("#live-calls tr.call-row").count()).toBe(0);
    await page.fill("#live-filter", "");
    await page.click("#live-pause");
    await agent!.callTool({ name: "echo", arguments: { text: "while paused" } });
    await page.waitForSelector("#live-resume:has-text('1 new')");
    const rows = await page.locator("#live-calls tr.call-row").count();
    await page.click("#live-resume");
    expect(await page.locator("#live-calls tr.call-row").count()).toBe(rows + 1);

    // Some more traffic for the picture: calls and a refusal, each a row.
    for (const text of ["list open issues", "summarise the diff", "draft the release notes"]) await agent!.callTool({ name: "echo", arguments: { text } });
    await agent!.callTool({ name: "sleep", arguments: { ms: 120 } });
    await refusalOf(agent!.callTool({ name: "crash", arguments: {} }));
    await page.waitForFunction((count) => document.querySelectorAll("#live-calls tr.call-row").length >= count, rows + 6);
    expect(await page.locator("#live-calls tr.call-row", { hasText: "lab/crash" }).first().textContent()).toContain("denied");

    // The plots, from GET /v1/admin/stats: lines for calls and refusals, bars for the lab backend's percentiles.
    await page.waitForSelector("figure.chart polyline.line");
    expect(await page.locator("figure.chart rect.bar").count()).toBeGreaterThanOrEqual(3);
    await shoot("live");
  });

  test("the call is found in audit search; its detail shows the redacted arguments, the rule, its chain position verified", async (context) => {
    requireChromium(context, "console.browser.test.ts");
    await page.click("header.top nav a[href='#/audit']");
    await page.fill("#audit-form input[name=subject]", AGENT);
    await page.fill("#audit-form input[name=tool]", "lab/echo");
    await page.click("#audit-form button[type=submit]");
    await page.waitForSelector("#audit-results tr.audit-row");
    const rows = page.locator("#audit-results tr.audit-row");
    for (const text of await rows.allTextContents()) expect(text).toContain("lab/echo");
    // The rows do not show arguments: open them, newest first, until the detail is the call the live table showed.
    let opened = -1;
    for (let i = 0; i < (await rows.count()) && opened < 0; i++) {
      await rows.nth(i).click();
      await page.waitForFunction((n) => document.querySelectorAll("#audit-results tr.audit-row")[n]?.classList.contains("selected"), i);
      if ((await page.textContent("#audit-detail"))?.includes(marker)) opened = i;
    }
    expect(opened, "the live call's record is among the results").toBeGreaterThanOrEqual(0);
    const detail = (await page.textContent("#audit-detail"))!;
    expect(detail).toContain(marker);
    expect(detail).toContain("allow lab/* (role agents)");
    expect(detail).toMatch(/ok\s*\d+ events verified \(#\d+–#\d+\)/);
    await page.click("#verify-all");
    await page.waitForSelector("#verify-report");
    expect(await page.textContent("#verify-report")).toContain("Every chain verifies");
    await shoot("audit");
  });

  test("revoking the client's token in Access refuses its next request (401)", async (context) => {
    requireChromium(context, "console.browser.test.ts");
    await page.click("header.top nav a[href='#/access']");
    const row = page.locator(`#tokens tr[data-subject='${AGENT}']`);
    await row.locator("button.revoke").click();
    await row.locator("button.confirm-revoke").click();
    await page.waitForSelector("#revoke-outcome");
    expect(await page.textContent("#revoke-outcome")).toContain("revoked");
    await page.waitForSelector(`#tokens tr[data-subject='${AGENT}'] .status:text("revoked")`);
    // Gateways apply revocations within a second.
    const deadline = Date.now() + 3_000;
    let status = 0;
    do {
      status = (await fetch(gw.mcpUrl("lab"), { method: "POST", headers: mcpHeaders(tokens.agent), body: INITIALIZE })).status;
      if (status !== 401) await Bun.sleep(100);
    } while (status !== 401 && Date.now() < deadline);
    expect(status).toBe(401);
    // The admin's own requests are unaffected.
    expect((await fetch(gw.mcpUrl("lab"), { method: "POST", headers: mcpHeaders(tokens.admin), body: INITIALIZE })).status).not.toBe(401);
  });

  test("the policy checker runs the real policy: one target allowed with its rule, one denied with its rule", async (context) => {
    requireChromium(context, "console.browser.test.ts");
    await page.fill("#policy-form input[name=subject]", AGENT);
    await page.fill("#policy-form input[name=target]", "lab/echo");
    await page.fill("#policy-form textarea[name=arguments]", '{"text": "hello"}');
    await page.click("#policy-form button[type=submit]");
    await page.waitForSelector("#policy-result");
    expect(await page.textContent("#policy-result strong")).toBe("Allowed");
    expect(await page.textContent("#policy-result code.rule")).toBe("allow lab/* (role agents)");
    await page.fill("#policy-form input[name=target]", "lab/crash");
    await page.click("#policy-form button[type=submit]");
    await page.waitForSelector("#policy-result strong:text('Denied')");
    expect(await page.textContent("#policy-result code.rule")).toBe("deny lab/crash (role agents)");
    expect(await page.textContent("#roles")).toContain("operators");
    await shoot("access");
  });

  test("backends (health, tools, connections) and sessions, limits with usage, and jobs with a cancel from the console", async (context) => {
    requireChromium(context, "console.browser.test.ts");
    await page.click("header.top nav a[href='#/backends']");
    await page.waitForSelector("#backends tbody tr");
    expect(await page.textContent("#backends")).toContain("lab");
    await page.waitForSelector("#sessions tbody tr");
    expect(await page.textContent("#sessions")).toContain("bob");
    await shoot("backends");
    await page.click("header.top nav a[href='#/limits']");
    await page.waitForSelector("#limits tbody tr");
    const limits = (await page.textContent("#limits"))!;
    for (const id of ["lim_console1", "lim_console2", "lim_console3"]) expect(limits).toContain(id);
    await shoot("limits", 20_000);
    // A job another client submitted (REST), cancelled from the console (admin:write).
    const submitted = await fetch(`${gw.base}/v1/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${tokens.viewer}`, "content-type": "application/json" },
      body: JSON.stringify({ backend: "lab", tool: "sleep", arguments: { ms: 60_000 } }),
    });
    expect(submitted.status, await submitted.clone().text()).toBe(202);
    const job = (await submitted.json()) as { id: string };
    await page.click("header.top nav a[href='#/jobs']");
    const row = page.locator("#jobs tbody tr", { hasText: job.id.slice(0, 8) });
    await row.locator("button.cancel-job").click();
    await page.waitForSelector(`#jobs tbody tr:has-text("${job.id.slice(0, 8)}") .status:text("cancelled")`);
    expect(await page.locator("main .error").count()).toBe(0);
    await shoot("jobs", 20_000);
  });

  test("a token without admin permissions sees the clear 403 message; an invalid one returns to the prompt, saying why", async (context) => {
    requireChromium(context, "console.browser.test.ts");
    // A new tab: sessionStorage is the tab's, so it starts without a token.
    const other = await browser!.newPage();
    try {
      await logIn(other, tokens.viewer);
      await other.waitForSelector(".error.forbidden");
      const message = (await other.locator(".error.forbidden").first().textContent())!;
      expect(message).toContain("This token's roles do not grant admin:read (mcpgw role create … --allow 'admin:read')");
      expect(message).toContain("mcpgw role grant operators bob");
      const previous = page;
      page = other;
      await shoot("forbidden");
      page = previous;

      await other.click("#forget-token");
      expect(await other.evaluate(() => sessionStorage.getItem("mcpgw.console.token"))).toBeNull();
      await logIn(other, "not-a-token");
      await other.waitForSelector("#token-notice");
      expect(await other.textContent("#token-notice")).toMatch(/^The token is not valid \(expired or revoked\?\)/);
      expect(await other.evaluate(() => sessionStorage.getItem("mcpgw.console.token"))).toBeNull();
    } finally {
      await other.close();
    }
  });

  test("no page broke a Content-Security-Policy rule or threw", (context) => {
    requireChromium(context, "console.browser.test.ts");
    expect(problems).toEqual([]);
  });
});

const INITIALIZE = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "revoked-check", version: "1" } },
});

function mcpHeaders(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}`, "content-type": "application/json", accept: "application/json, text/event-stream" };
}
