import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { afterEach, describe, expect, test } from "vitest";
import { REPO_ROOT, cleanEnv, runCli } from "./helpers/cli.ts";
import { BUN, connectClient, listAllTools } from "./helpers/gateway.ts";
import { isolatedSchema, postgresAvailable } from "./helpers/postgres.ts";
import { freePort } from "./helpers/process.ts";
import { tempDir } from "./helpers/temp-dir.ts";

const ENTRY = join(REPO_ROOT, "cli", "main.ts");
const LAB_COMMAND = `"${BUN}" "${join(REPO_ROOT, "test/fixtures/lab-server.ts")}" --stdio`;
// init, then serve and an MCP call: several processes, slow on a loaded machine.
const E2E_TIMEOUT_MS = 90_000;
const JWT = /eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function folder(): string {
  const dir = tempDir("mcpgw-init-");
  cleanups.push(() => dir.remove());
  return dir.path;
}

describe("mcpgw init", () => {
  test(
    "the wizard, answered on a real terminal, sets up a gateway that serves the admin token",
    async () => {
      const dir = folder();
      const terminal = spawnOnTerminal([BUN, ENTRY, "init"], dir);
      await terminal.answer("Database", "\r"); // SQLite, the default choice
      await terminal.answer("SQLite file", "gateway.db\r");
      await terminal.answer("Subject of the first admin token", "alice\r");
      await terminal.answer("Register a first backend", "\r"); // yes, the default
      await terminal.answer("Backend name", "lab\r");
      await terminal.answer("How does mcpgw reach it?", "\r"); // stdio, the default choice
      await terminal.answer("Command", `${LAB_COMMAND}\r`);
      expect(await terminal.exited(), terminal.output()).toBe(0);

      const shown = terminal.output();
      expect(shown).toMatch(/testing backend "lab" \(stdio\)…\s+ok: .*, 6 tools/);
      expect(shown).toContain('role       admin (allow * resource:* prompt:* method:* admin:*): created; granted to "alice"');
      const token = JWT.exec(shown)?.[0];
      expect(token, shown).toBeDefined();
      const env = readFileSync(join(dir, ".env"), "utf8");
      expect(env).toMatch(/^MCPGW_DATABASE_URL=sqlite:gateway\.db$/m);
      expect(env).toMatch(/^MCPGW_PORT=8080$/m);
      expect(statSync(join(dir, ".env")).mode & 0o777).toBe(0o600);

      // serve, started in that folder with no --db, finds the database through .env (Bun's own loading).
      await expectServes(dir, token!, "lab__echo", "lab: hi");
      expect(existsSync(join(dir, "mcpgw.db"))).toBe(false);
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "the wizard asks before overwriting an existing .env, and writes elsewhere when told",
    async () => {
      const dir = folder();
      const previous = "MCPGW_DATABASE_URL=sqlite:old.db\nMCPGW_AUDIT=off\n";
      writeFileSync(join(dir, ".env"), previous);
      const terminal = spawnOnTerminal([BUN, ENTRY, "init"], dir);
      await terminal.answer(".env already exists. Overwrite it?", "n\r");
      await terminal.answer("Write the settings to which file instead?", "other.env\r");
      // The old file's database is the suggestion: accept both defaults.
      await terminal.answer("Database", "\r");
      await terminal.answer("SQLite file", "\r");
      await terminal.answer("Subject of the first admin token", "\r");
      await terminal.answer("Register a first backend", "n\r");
      expect(await terminal.exited(), terminal.output()).toBe(0);
      expect(readFileSync(join(dir, ".env"), "utf8")).toBe(previous);
      expect(readFileSync(join(dir, "other.env"), "utf8")).toMatch(/^MCPGW_DATABASE_URL=sqlite:old\.db$/m);
      expect(terminal.output()).toContain("backend    none yet");
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "init --yes with flags sets up a gateway without a terminal; the token alone goes to stdout",
    async () => {
      const dir = folder();
      const result = await runCli(
        [
          "init",
          "--yes",
          "--db",
          "sqlite:ci.db",
          "--admin-subject",
          "ci-bot",
          "--backend-name",
          "tools",
          "--backend-command",
          LAB_COMMAND,
          "--backend-env",
          "LAB_NAME=tools",
        ],
        { cwd: dir },
      );
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`^${JWT.source}\\n$`));
      expect(result.stderr).toContain('granted to "ci-bot"');
      expect(readFileSync(join(dir, ".env"), "utf8")).toMatch(/^MCPGW_DATABASE_URL=sqlite:ci\.db$/m);
      // With Bun's .env loading switched off, mcpgw's own reading of .env must find the database.
      await expectServes(dir, result.stdout.trim(), "tools__echo", "tools: hi", ["--no-env-file"]);
    },
    E2E_TIMEOUT_MS,
  );

  test("init --yes refuses to overwrite an existing .env unless --force, which keeps its other variables", async () => {
    const dir = folder();
    writeFileSync(join(dir, ".env"), "MCPGW_AUDIT_INSTANCE=gw-7\nMCPGW_PORT=9999\n", { mode: 0o644 });
    const refused = await runCli(["init", "--yes", "--db", "sqlite:x.db"], { cwd: dir });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`error: ${join(dir, ".env")} already exists`);
    expect(refused.stderr).toMatch(/→ pass --force to overwrite it .*, remove it, or write elsewhere with --env-file PATH/);
    expect(refused.stdout).toBe("");
    expect(existsSync(join(dir, "x.db"))).toBe(false);
    expect(readFileSync(join(dir, ".env"), "utf8")).toBe("MCPGW_AUDIT_INSTANCE=gw-7\nMCPGW_PORT=9999\n");

    const forced = await runCli(["init", "--yes", "--force", "--db", "sqlite:x.db"], { cwd: dir });
    expect(forced.code, forced.stderr).toBe(0);
    const written = readFileSync(join(dir, ".env"), "utf8");
    expect(written).toMatch(/^MCPGW_DATABASE_URL=sqlite:x\.db$/m);
    expect(written).toMatch(/^MCPGW_AUDIT_INSTANCE=gw-7$/m);
    // MCPGW_PORT came from the old .env (init reads it like any command) and is written again, once.
    expect(written.match(/^MCPGW_PORT=9999$/gm)).toHaveLength(1);
    // The overwritten file ends up readable by its owner only, as a new one would be.
    expect(statSync(join(dir, ".env")).mode & 0o777).toBe(0o600);
  });

  test("init --yes refuses to change an existing role with other rules unless --force", async () => {
    const dir = folder();
    expect((await runCli(["--db", "sqlite:r.db", "migrate"], { cwd: dir })).code).toBe(0);
    expect((await runCli(["--db", "sqlite:r.db", "role", "create", "admin", "--allow", "github/*"], { cwd: dir })).code).toBe(0);
    const refused = await runCli(["init", "--yes", "--db", "sqlite:r.db"], { cwd: dir });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('role "admin" already exists with other rules (allow github/*)');
    expect(refused.stderr).toContain("--admin-role NAME");
    expect(existsSync(join(dir, ".env"))).toBe(false);

    const renamed = await runCli(["init", "--yes", "--db", "sqlite:r.db", "--admin-role", "root"], { cwd: dir });
    expect(renamed.code, renamed.stderr).toBe(0);
    const roles = JSON.parse((await runCli(["--db", "sqlite:r.db", "role", "list", "--json"], { cwd: dir })).stdout) as {
      name: string;
      allow: string[];
      subjects: string[];
    }[];
    expect(roles).toEqual([
      expect.objectContaining({ name: "admin", allow: ["github/*"], subjects: [] }),
      expect.objectContaining({ name: "root", allow: ["*", "resource:*", "prompt:*", "method:*", "admin:*"], subjects: ["admin"] }),
    ]);
  });

  test("init --yes stops before saving anything when the backend fails its test", async () => {
    const dir = folder();
    const result = await runCli(
      ["init", "--yes", "--db", "sqlite:b.db", "--backend-name", "ghost", "--backend-command", "no-such-mcp-server-for-init --stdio"],
      { cwd: dir },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('init stopped before saving anything: backend "ghost": program "no-such-mcp-server-for-init" was not found');
    expect(result.stdout).toBe("");
    expect(existsSync(join(dir, ".env"))).toBe(false);
    const backends = await runCli(["--db", "sqlite:b.db", "backend", "list", "--json"], { cwd: dir });
    expect(JSON.parse(backends.stdout)).toEqual([]);
    const tokens = await runCli(["--db", "sqlite:b.db", "token", "list", "--json"], { cwd: dir });
    expect(JSON.parse(tokens.stdout)).toEqual([]);
  });

  test("init --yes with a database that does not answer fails and writes no .env", async () => {
    const dir = folder();
    const port = await freePort();
    const result = await runCli(["init", "--yes", "--db", `postgres://postgres@127.0.0.1:${port}/mcpgw`], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`error: PostgreSQL at postgres://postgres@127.0.0.1:${port}/mcpgw is unreachable`);
    expect(result.stdout).toBe("");
    expect(existsSync(join(dir, ".env"))).toBe(false);
  });

  test("without a terminal and without --yes, init is a usage error that says to pass --yes", async () => {
    const dir = folder();
    const result = await runCli(["init"], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("error: mcpgw init asks questions, and stdin is not a terminal");
    expect(result.stderr).toContain("→ pass --yes");
    expect(existsSync(join(dir, ".env"))).toBe(false);
  });

  test(
    "init --yes on PostgreSQL: the gateway serves from the URL it wrote",
    async (context) => {
      if (!(await postgresAvailable())) return context.skip();
      const schema = await isolatedSchema("cli_init");
      cleanups.push(() => schema.drop());
      const dir = folder();
      const result = await runCli(["init", "--yes", "--db", schema.url, "--backend-name", "lab", "--backend-command", LAB_COMMAND], { cwd: dir });
      expect(result.code, result.stderr).toBe(0);
      expect(readFileSync(join(dir, ".env"), "utf8")).toContain(`MCPGW_DATABASE_URL=${schema.url}`);
      await expectServes(dir, result.stdout.trim(), "lab__echo", "lab: hi");
    },
    E2E_TIMEOUT_MS,
  );
});

/** Starts `mcpgw serve` in `dir` with nothing but its .env, and makes an authenticated tool call through it. */
async function expectServes(dir: string, token: string, tool: string, answer: string, bunFlags: string[] = []): Promise<void> {
  const child = Bun.spawn([BUN, ...bunFlags, ENTRY, "serve", "--port", "0"], { cwd: dir, env: cleanEnv(), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  try {
    const base = await listeningUrl(child);
    expect((await fetch(new URL("/readyz", base))).status).toBe(200);
    // The first admin token administers too: the admin role allows admin:*.
    const backends = await fetch(new URL("/v1/admin/backends", base), { headers: { authorization: `Bearer ${token}` } });
    expect(backends.status, await backends.clone().text()).toBe(200);
    const client = await connectClient(new URL("/mcp", base), {}, "init-test", { token });
    try {
      expect(await listAllTools(client)).toContain(tool);
      const result = await client.callTool({ name: tool, arguments: { text: "hi" } });
      expect((result.content as { text: string }[])[0]?.text).toBe(answer);
    } finally {
      await client.close();
    }
  } finally {
    child.kill("SIGTERM");
    await child.exited;
  }
}

/** Reads the gateway's JSON log until its "mcpgw listening" line; fails with the output if it exits first. */
async function listeningUrl(child: Subprocess<"ignore", "pipe", "pipe">): Promise<string> {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of child.stdout) {
    buffered += decoder.decode(chunk, { stream: true });
    const line = buffered.split("\n").find((text) => text.includes('"mcpgw listening"'));
    if (line) return (JSON.parse(line) as { url: string }).url;
  }
  throw new Error(`serve ended before listening:\n${buffered}\n${await new Response(child.stderr).text()}`);
}

/**
 * A program on a pseudo-terminal (Bun.spawn's `terminal` option), so it sees a TTY exactly as
 * with a person at the keyboard. `answer` waits for a prompt's text to appear after everything
 * already answered, then types.
 */
function spawnOnTerminal(command: string[], cwd: string) {
  let raw = "";
  let consumed = 0;
  const child = Bun.spawn(command, {
    cwd,
    env: { ...cleanEnv(), TERM: "xterm-256color", NO_COLOR: "1" },
    terminal: { cols: 200, rows: 50, data: (_terminal, data) => void (raw += new TextDecoder().decode(data)) },
  });
  cleanups.push(() => {
    child.kill("SIGKILL");
    child.terminal?.close();
  });
  // Prompts redraw with cursor movements and colours: compare against the text alone.
  const output = () => raw.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").replace(/\r/g, "");
  return {
    output,
    async answer(prompt: string, keys: string): Promise<void> {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const at = output().indexOf(prompt, consumed);
        if (at >= 0) {
          consumed = at + prompt.length;
          break;
        }
        if (Date.now() > deadline) throw new Error(`no prompt "${prompt}" within 20 s; the terminal shows:\n${output()}`);
        await Bun.sleep(25);
      }
      child.terminal!.write(keys);
    },
    async exited(): Promise<number> {
      const timeout = new Promise<number>((_, reject) => setTimeout(() => reject(new Error(`init did not finish within 30 s:\n${output()}`)), 30_000));
      const code = await Promise.race([child.exited, timeout]);
      // The last output may still be in flight from the terminal.
      await Bun.sleep(50);
      return code;
    },
  };
}
