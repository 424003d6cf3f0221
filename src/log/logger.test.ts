import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";

// The gateway's stdout destination writes lines in batches (up to 10 ms late): what it must still
// guarantee is checked in a child process of its own, with stdout a pipe as under a container runtime.
const folder = mkdtempSync(join(tmpdir(), "mcpgw-logger-"));
const LOGGER = join(import.meta.dirname, "logger.ts");

afterAll(() => rmSync(folder, { recursive: true, force: true }));

function script(name: string, body: string): string {
  const path = join(folder, name);
  writeFileSync(path, `import { createLogger } from ${JSON.stringify(LOGGER)};\nconst log = createLogger({ level: "info", fd: 1 });\n${body}\n`);
  return path;
}

async function run(path: string, stdout: "pipe" | "closed") {
  const child = Bun.spawn([process.execPath, path], { stdout: "pipe", stderr: "pipe" });
  // A reader that goes away at once: every write after that fails with EPIPE.
  if (stdout === "closed") await child.stdout.cancel();
  const text = stdout === "pipe" ? await new Response(child.stdout).text() : "";
  return { code: await child.exited, lines: text.split("\n").filter(Boolean), stderr: await new Response(child.stderr).text() };
}

describe("the gateway's stdout log destination", () => {
  test("every line of a turn is written, in order, when the process exits in that same turn", async () => {
    const { code, lines } = await run(script("exit.ts", 'for (let i = 0; i < 500; i++) log.info({ i }, "line");\nprocess.exit(0);'), "pipe");
    expect(code).toBe(0);
    expect(lines.map((line) => (JSON.parse(line) as { i: number }).i)).toEqual(Array.from({ length: 500 }, (_, i) => i));
  });

  test("lines written over several turns all arrive, and the open pipe does not keep the process alive", async () => {
    const started = Date.now();
    const body =
      'for (let turn = 0; turn < 20; turn++) {\n  for (let i = 0; i < 10; i++) log.info({ n: turn * 10 + i }, "line");\n  await new Promise((r) => setImmediate(r));\n}';
    const { code, lines } = await run(script("turns.ts", body), "pipe");
    expect(code).toBe(0);
    expect(lines).toHaveLength(200);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  test("a stdout whose reader is gone (EPIPE) costs the lines, never the process", async () => {
    const body =
      'for (let turn = 0; turn < 50; turn++) {\n  log.info({ turn }, "x".repeat(2000));\n  await new Promise((r) => setTimeout(r, 2));\n}\nconsole.error("still running");';
    const { code, stderr } = await run(script("epipe.ts", body), "closed");
    expect(stderr).toContain("still running");
    expect(code).toBe(0);
  });
});
