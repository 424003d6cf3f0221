/**
 * `mcpgw serve` on a port another process holds: one structured log line that says so and what
 * to do, exit 1, nothing on stderr and no stack trace.
 */
import { afterAll, expect, test } from "vitest";
import { runCli } from "./helpers/cli.ts";
import { tempDir } from "./helpers/temp-dir.ts";

const folder = tempDir("mcpgw-port-in-use-");
const holder = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("taken") });
afterAll(() => {
  void holder.stop(true);
  folder.remove();
});

test("a port already in use is one fatal log line with a hint, and exit 1", async () => {
  const result = await runCli(["serve", "--db", "sqlite:gw.db", "--port", String(holder.port)], { cwd: folder.path, env: { MCPGW_LOG_LEVEL: "info" } });
  expect(result.code).toBe(1);
  expect(result.stderr).toBe("");
  const lines = result.stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as { level: number; msg: string; hint?: string });
  const failures = lines.filter((line) => line.level >= 50);
  expect(failures).toHaveLength(1);
  expect(failures[0]).toMatchObject({
    level: 60,
    msg: expect.stringContaining(`cannot start: cannot listen on 127.0.0.1:${holder.port}`),
    hint: expect.stringContaining("--port"),
  });
  expect(result.stdout).not.toMatch(/\bat .*\.ts:\d+/);
}, 30_000);
