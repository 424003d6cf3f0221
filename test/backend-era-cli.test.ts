import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type CliResult, REPO_ROOT, runCli } from "./helpers/cli.ts";
import { type StoreFixture, sqliteStoreFixture } from "./helpers/store-fixtures.ts";

const MODERN_SERVER = join(REPO_ROOT, "test/backend-era-modern-stdio.ts");
const EVERYTHING = join(REPO_ROOT, "node_modules", "@modelcontextprotocol", "server-everything", "dist", "index.js");

/** `mcpgw backend test` and `show` tell which protocol era a backend speaks (the real program, a SQLite database). */
describe("mcpgw backend test/show: the protocol era", () => {
  let database: StoreFixture;
  const cli = (args: string[]): Promise<CliResult> => runCli(["--db", database.url, ...args]);

  beforeAll(async () => {
    database = await sqliteStoreFixture("cli_backend_era");
    expect((await cli(["migrate"])).code).toBe(0);
    expect((await cli(["backend", "add", "modern", "--command", `"${process.execPath}" "${MODERN_SERVER}"`, "--timeout", "20s"])).code).toBe(0);
    expect((await cli(["backend", "add", "everything", "--command", `node "${EVERYTHING}" stdio`, "--timeout", "20s"])).code).toBe(0);
  });
  afterAll(() => database.cleanup());

  test("a 2026-07-28-only backend: era modern, protocol 2026-07-28, its discover serverInfo and tools", async () => {
    const result = await cli(["backend", "test", "modern"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('backend "modern" is reachable');
    expect(result.stdout).toMatch(/^ {2}server: {4}era-modern 2\.0\.0$/m);
    expect(result.stdout).toMatch(/^ {2}protocol: {2}2026-07-28$/m);
    expect(result.stdout).toMatch(/^ {2}era: {7}modern \(stateless requests, no initialize\)$/m);
    expect(result.stdout).toMatch(/^ {2}tools: {5}5$/m);

    const json = await cli(["backend", "test", "modern", "--json"]);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, era: "modern", protocolVersion: "2026-07-28", server: { name: "era-modern" }, toolCount: 5 });
  });

  test("a 2025-era backend: era legacy, protocol 2025-11-25", async () => {
    const result = await cli(["backend", "test", "everything"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^ {2}protocol: {2}2025-11-25$/m);
    expect(result.stdout).toMatch(/^ {2}era: {7}legacy \(initialize and a session\)$/m);
    const json = await cli(["backend", "test", "everything", "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, era: "legacy", protocolVersion: "2025-11-25" });
  });

  test("show says the era is detected on connect, and points at backend test", async () => {
    const shown = await cli(["backend", "show", "modern"]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/^era: {7}auto: .*detected on each connect \(mcpgw backend test modern reports it\)$/m);
    const json = await cli(["backend", "show", "modern", "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({ name: "modern", era: "auto" });
  });
});
