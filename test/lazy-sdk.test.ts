import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { INITIALIZE } from "./helpers/auth-tokens.ts";
import { REPO_ROOT, cleanEnv } from "./helpers/cli.ts";
import { freePort, startProcess } from "./helpers/process.ts";
import { tempDir } from "./helpers/temp-dir.ts";

/**
 * An idle gateway has not loaded the MCP SDK, zod or pg (issue 15, footprint; docs/deployment.md
 * "Footprint"): together about 7 MB of an idle gateway's RSS. The SDK comes with the first session,
 * which this test opens to show that the recording sees it when it is loaded.
 */
test("serve reaches /readyz without loading the MCP SDK, zod or pg, and loads the SDK with the first session", async () => {
  const dir = tempDir("mcpgw-lazy-");
  const log = join(dir.path, "imports.log");
  const imports = () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : []);
  try {
    const port = await freePort();
    const recorder = join(REPO_ROOT, "test/fixtures/record-imports.ts");
    const serve = await startProcess(
      [process.execPath, "--preload", recorder, join(REPO_ROOT, "cli/main.ts"), "serve", "--db", `sqlite:${join(dir.path, "gw.db")}`, "--port", String(port)],
      /mcpgw listening/,
      { ...cleanEnv(), MCPGW_AUTH: "off", MCPGW_TEST_IMPORT_LOG: log },
    );
    try {
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status).toBe(200);
      expect(imports()).toEqual([]);

      const init = await fetch(`http://127.0.0.1:${port}/mcp`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
        body: INITIALIZE,
      });
      await init.text();
      expect(init.status).toBe(200);
      expect(imports().some((line) => line.startsWith("@modelcontextprotocol/sdk/types.js "))).toBe(true);
      expect(imports().filter((line) => line.startsWith("pg "))).toEqual([]);
    } finally {
      serve.kill("SIGTERM");
      await serve.exited;
    }
  } finally {
    dir.remove();
  }
});
