import { join } from "node:path";
import { expect, test } from "vitest";
import { REPO_ROOT, cleanEnv } from "./helpers/cli.ts";
import { freePort, startProcess } from "./helpers/process.ts";
import { tempDir } from "./helpers/temp-dir.ts";

/**
 * An idle `mcpgw serve` exits as soon as it has stopped on SIGTERM, not when its drain bound
 * (MCPGW_SHUTDOWN_TIMEOUT, 10 s by default) runs out: a pending timer of the bound kept the
 * process alive for the whole 10 s after it had logged "stopped" (every rolling update paid it).
 */
test("an idle gateway exits within a second or two of SIGTERM, well inside its 10 s drain bound", async () => {
  const dir = tempDir("mcpgw-exit-");
  try {
    const port = await freePort();
    const serve = await startProcess(
      [
        process.execPath,
        join(REPO_ROOT, "cli", "main.ts"),
        "serve",
        "--db",
        `sqlite:${join(dir.path, "gw.db")}`,
        "--port",
        String(port),
        "--log-level",
        "info",
      ],
      /mcpgw listening/,
      { ...cleanEnv(), MCPGW_SHUTDOWN_TIMEOUT: "10s" },
    );
    const started = performance.now();
    serve.kill("SIGTERM");
    const code = await serve.exited;
    const elapsedMs = performance.now() - started;
    expect(code).toBe(0);
    expect(serve.output()).toMatch(/"msg":"stopped"/);
    expect(elapsedMs).toBeLessThan(5_000);
  } finally {
    dir.remove();
  }
});
