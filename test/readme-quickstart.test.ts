/**
 * The README's quickstart, run as written: the shell block under "## Quickstart" goes to bash in
 * an empty folder that sees this checkout's files (symlinks, like a fresh clone after npm
 * install). Two things differ from a newcomer's run, both stated in the README: `npm install`
 * is skipped (the dependencies are already installed), and port 8080 is a free port instead.
 */
import { readFileSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { REPO_ROOT, cleanEnv, runCli } from "./helpers/cli.ts";
import { freePort } from "./helpers/process.ts";
import { tempDir } from "./helpers/temp-dir.ts";

const folder = tempDir("mcpgw-quickstart-");
afterAll(() => folder.remove());

/** The first ```sh block after the "## Quickstart" heading. */
function quickstartBlock(): string {
  const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Quickstart"));
  const match = /```sh\n([\s\S]*?)```/.exec(section);
  if (!match) throw new Error("README.md has no ```sh block under ## Quickstart");
  return match[1]!;
}

test("the README quickstart reaches an authenticated tool call through the gateway, and the audit log shows it", async () => {
  const block = quickstartBlock();
  expect(block.split("\n")[0]).toBe("npm install");
  const port = await freePort();
  const script = ["set -euo pipefail", block.replace(/^npm install\n/, "").replaceAll("127.0.0.1:8080", `127.0.0.1:${port}`)].join("\n");
  for (const entry of ["package.json", "node_modules", "cli", "src", "migrations", "scripts", "bunfig.toml", "tsconfig.json"]) {
    symlinkSync(join(REPO_ROOT, entry), join(folder.path, entry));
  }
  // setsid: the script and what it starts (the gateway of `npm start &`) form a process group of
  // their own, which the test ends afterwards as a newcomer would end the gateway.
  const child = Bun.spawn(["setsid", "bash", "-c", script], {
    cwd: folder.path,
    env: { ...cleanEnv(), MCPGW_PORT: String(port), MCPGW_LOG_LEVEL: "warn", NO_COLOR: "1" },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const output = Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
  let code: number;
  try {
    code = await Promise.race([child.exited, Bun.sleep(100_000).then(() => -1)]);
  } finally {
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      // The group is already gone.
    }
  }
  const [stdout, stderr] = await output;
  expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
  // tools list showed the backend's tools as BACKEND/TOOL with their descriptions…
  expect(stdout).toMatch(/^everything\/echo +Echoes back the input string$/m);
  // …call printed the tool's text as text…
  expect(stdout).toMatch(/^Echo: hello$/m);
  // …the Inspector CLI, a real MCP client with the token, printed the result of its call over HTTP…
  expect(stdout).toContain('"text": "Echo: hello"');
  // …and audit tail both calls, by the admin subject init created.
  expect(stdout.match(/ ok +admin +tools\/call +everything\/echo /g)).toHaveLength(2);
  expect(readFileSync(join(folder.path, ".env"), "utf8")).toMatch(/^MCPGW_DATABASE_URL=/m);
  // The record of mcpgw call says it came from the CLI; the other came from the Inspector, over HTTP.
  const audit = await runCli(["audit", "tail", "--json"], { cwd: folder.path });
  const clients = audit.stdout
    .trim()
    .split("\n")
    .map((line) => (JSON.parse(line) as { client: { name: string } | null }).client?.name);
  expect(clients).toEqual(["mcpgw-cli", expect.stringMatching(/inspector/i)]);
}, 120_000);
