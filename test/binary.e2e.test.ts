import { copyFileSync, existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { docsAssetPaths } from "../src/server/docs-assets.ts";
import { cspViolations, loadPage, requireChromium } from "./helpers/chromium.ts";
import { REPO_ROOT, cleanEnv, runCli } from "./helpers/cli.ts";
import { isolatedSchema, postgresAvailable, queryPostgres } from "./helpers/postgres.ts";
import { tempDir } from "./helpers/temp-dir.ts";

/** The compiled binary, copied alone into an empty folder: no node_modules, no sources, no migrations/. */
describe("dist/mcpgw from an empty folder", () => {
  const dir = tempDir("mcpgw-bin-");
  const binary = join(dir.path, "mcpgw");

  beforeAll(async () => {
    const build = Bun.spawn([process.execPath, join(REPO_ROOT, "scripts", "build.ts")], { cwd: REPO_ROOT, stdout: "pipe", stderr: "pipe" });
    const code = await build.exited;
    if (code !== 0) throw new Error(`build failed: ${await new Response(build.stderr).text()}`);
    copyFileSync(join(REPO_ROOT, "dist", "mcpgw"), binary);
    expect(readdirSync(dir.path)).toEqual(["mcpgw"]);
  }, 120_000);
  afterAll(() => dir.remove());

  test("--help and --version", async () => {
    const help = await runCli(["--help"], { binary, cwd: dir.path });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: mcpgw");
    const version = await runCli(["--version"], { binary, cwd: dir.path });
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  test("migrate --db sqlite:x.db uses the embedded migrations", async () => {
    const result = await runCli(["migrate", "--db", "sqlite:x.db"], { binary, cwd: dir.path });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("applied 0001_initial");
    expect(existsSync(join(dir.path, "x.db"))).toBe(true);
  });

  test("migrate --db postgres://… against the real server", async (context) => {
    if (!(await postgresAvailable())) return context.skip();
    const schema = await isolatedSchema("bin");
    try {
      const result = await runCli(["migrate", "--db", schema.url], { binary, cwd: dir.path });
      expect(result.code, result.stderr).toBe(0);
      const rows = await queryPostgres<{ name: string }>(schema.schema, "SELECT name FROM schema_migrations");
      expect(rows.map((r) => r.name)).toContain("0001_initial");
    } finally {
      await schema.drop();
    }
  });

  test("serve answers /healthz and /readyz, and stops cleanly on SIGTERM", async () => {
    const child = Bun.spawn([binary, "serve", "--port", "0", "--db", "sqlite:serve.db"], {
      cwd: dir.path,
      env: cleanEnv(),
      stdout: "pipe",
      stderr: "pipe",
    });
    try {
      const url = await listeningUrl(child.stdout);
      const health = await fetch(new URL("/healthz", url));
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: "ok" });
      const ready = await fetch(new URL("/readyz", url));
      expect(ready.status).toBe(200);
      child.kill("SIGTERM");
      expect(await child.exited).toBe(0);
    } finally {
      child.kill("SIGKILL");
    }
  });

  test("serve answers /openapi.json and /docs with the renderer embedded, and the page renders in Chromium", async (context) => {
    const child = Bun.spawn([binary, "serve", "--port", "0", "--db", "sqlite:docs.db"], { cwd: dir.path, env: cleanEnv(), stdout: "pipe", stderr: "pipe" });
    try {
      const url = await listeningUrl(child.stdout);
      const document = (await (await fetch(new URL("/openapi.json", url))).json()) as { openapi: string; paths: Record<string, unknown> };
      expect(document.openapi).toBe("3.1.0");
      expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(["/v1/jobs", "/v1/jobs/{id}"]));
      // The files come out of the executable: the folder holds nothing but the binary and its database.
      const assets = docsAssetPaths();
      for (const [path, file] of [
        ["/docs/swagger-ui-bundle.js", assets.script],
        ["/docs/swagger-ui.css", assets.stylesheet],
      ] as const) {
        const response = await fetch(new URL(path, url), { headers: { "accept-encoding": "identity" } });
        expect(response.status, path).toBe(200);
        expect(Buffer.from(await response.arrayBuffer()).equals(readFileSync(file)), path).toBe(true);
      }
      const browser = requireChromium(context, "binary.e2e.test.ts /docs");
      const { dom, log } = await loadPage(browser, new URL("/docs", url).href);
      expect(cspViolations(log)).toEqual([]);
      expect(dom).toContain('data-path="/v1/jobs"');
    } finally {
      child.kill("SIGTERM");
      await child.exited;
    }
  });

  test("serve answers /admin with the console embedded (the files scripts/build.ts bundled), and the page renders in Chromium", async (context) => {
    const child = Bun.spawn([binary, "serve", "--port", "0", "--db", "sqlite:console.db"], { cwd: dir.path, env: cleanEnv(), stdout: "pipe", stderr: "pipe" });
    try {
      const url = await listeningUrl(child.stdout);
      const page = await fetch(new URL("/admin", url));
      expect(page.status).toBe(200);
      expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
      expect(await page.text()).toContain('src="admin/app.js"');
      for (const file of ["app.js", "app.css"]) {
        const response = await fetch(new URL(`/admin/${file}`, url), { headers: { "accept-encoding": "identity" } });
        expect(response.status, file).toBe(200);
        expect(Buffer.from(await response.arrayBuffer()).equals(readFileSync(join(REPO_ROOT, "dist", "console", file))), file).toBe(true);
      }
      const browser = requireChromium(context, "binary.e2e.test.ts /admin");
      const { dom, log } = await loadPage(browser, new URL("/admin", url).href);
      expect(cspViolations(log)).toEqual([]);
      expect(dom).toContain('id="token-form"');
    } finally {
      child.kill("SIGTERM");
      await child.exited;
    }
  });
});

/** Reads the gateway's JSON log until the "mcpgw listening" line and returns its URL. */
async function listeningUrl(stdout: ReadableStream<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of stdout) {
    buffered += decoder.decode(chunk, { stream: true });
    for (const line of buffered.split("\n")) {
      if (line.includes('"mcpgw listening"')) return (JSON.parse(line) as { url: string }).url;
    }
  }
  throw new Error(`the gateway exited before listening:\n${buffered}`);
}
