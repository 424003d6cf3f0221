import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport, getDefaultEnvironment } from "@modelcontextprotocol/sdk/client/stdio.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parsePermission } from "../src/policy/permission.ts";
import { CLIENTS, clientConfig } from "../src/setup/client-config.ts";
import { REPO_ROOT, runCli } from "./helpers/cli.ts";
import { BUN, type TestGateway, startTestGateway } from "./helpers/gateway.ts";
import { tempDir } from "./helpers/temp-dir.ts";

/**
 * `mcpgw client config` (issue 16, item 1): each client's block has the shape that client
 * documents, and the real mcp-remote and MCP Inspector CLI (devDependencies) connect through the
 * gateway with exactly what it prints; Claude Desktop's block is run as Claude Desktop runs it.
 */
const LAB = { name: "lab", command: [BUN, join(REPO_ROOT, "test/fixtures/lab-server.ts"), "--stdio"], env: { LAB_NAME: "lab" } };
const TOKEN = "eyJ.header.sig";

/** Splits a printed POSIX shell command into its words (bare words and single-quoted ones, as shellWord writes them). */
function shellWords(command: string): string[] {
  const words: string[] = [];
  for (const match of command.matchAll(/'((?:[^']|'\\'')*)'|(\S+)/g)) words.push(match[1] !== undefined ? match[1].replaceAll(`'\\''`, "'") : match[2]!);
  return words;
}

describe("each client's block has the documented shape", () => {
  const input = { url: "https://mcp.example.com/mcp/github", token: TOKEN, name: "mcpgw-github" };

  test("Claude Desktop: a stdio server in mcpServers running mcp-remote, the header through env", () => {
    const config = clientConfig("claude-desktop", input);
    expect(config.where.join(" ")).toContain("claude_desktop_config.json");
    expect(JSON.parse(config.text)).toEqual({
      mcpServers: {
        "mcpgw-github": {
          command: "npx",
          args: ["-y", "mcp-remote", input.url, "--header", "Authorization:${MCPGW_AUTHORIZATION}"],
          env: { MCPGW_AUTHORIZATION: `Bearer ${TOKEN}` },
        },
      },
    });
  });

  test("Cursor: mcpServers with url and headers; VS Code: servers with type http", () => {
    expect(JSON.parse(clientConfig("cursor", input).text)).toEqual({
      mcpServers: { "mcpgw-github": { url: input.url, headers: { Authorization: `Bearer ${TOKEN}` } } },
    });
    expect(clientConfig("cursor", input).where.join(" ")).toContain(".cursor/mcp.json");
    expect(JSON.parse(clientConfig("vscode", input).text)).toEqual({
      servers: { "mcpgw-github": { type: "http", url: input.url, headers: { Authorization: `Bearer ${TOKEN}` } } },
    });
    expect(clientConfig("vscode", input).where.join(" ")).toContain(".vscode/mcp.json");
  });

  test("Claude Code, mcp-remote and the Inspector: commands whose words are what each CLI takes", () => {
    expect(shellWords(clientConfig("claude-code", input).text)).toEqual([
      "claude",
      "mcp",
      "add",
      "--transport",
      "http",
      "mcpgw-github",
      input.url,
      "--header",
      `Authorization: Bearer ${TOKEN}`,
    ]);
    expect(shellWords(clientConfig("mcp-remote", input).text)).toEqual(["npx", "-y", "mcp-remote", input.url, "--header", `Authorization: Bearer ${TOKEN}`]);
    expect(shellWords(clientConfig("inspector", input).text)).toEqual([
      "npx",
      "-y",
      "@modelcontextprotocol/inspector",
      "--cli",
      input.url,
      "--transport",
      "http",
      "--header",
      `Authorization: Bearer ${TOKEN}`,
      "--stored-auth-only",
      "--method",
      "tools/list",
    ]);
    // mcp-remote takes plain http only on localhost unless told.
    expect(shellWords(clientConfig("mcp-remote", { ...input, url: "http://gateway.internal:8080/mcp" }).text)).toContain("--allow-http");
    expect(shellWords(clientConfig("mcp-remote", { ...input, url: "http://127.0.0.1:8080/mcp" }).text)).not.toContain("--allow-http");
  });
});

describe("the printed blocks connect real clients through the gateway", () => {
  let gw: TestGateway;
  let db = "";
  const home = tempDir("mcpgw-clients-");

  beforeAll(async () => {
    // No clock skew, so a 1 s token is expired 1 s later.
    gw = await startTestGateway(
      [LAB],
      { auth: "required", jwtClockSkew: "0s" },
      {
        prepare: (store) => store.roles.create({ name: "dev", rules: [{ effect: "allow", permission: parsePermission("lab/*") }] }),
      },
    );
    db = gw.gateway.store.location;
  }, 60_000);
  afterAll(async () => {
    await gw?.stop();
    home.remove();
  });

  async function printed(client: string, ...extra: string[]): Promise<string> {
    const result = await runCli(["--db", db, "client", "config", "--client", client, "--sub", "desk-user", "--role", "dev", "--url", gw.base, ...extra]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain("mcpgw token revoke");
    return result.stdout;
  }

  /** Environment for the clients: mcp-remote keeps OAuth state under its config folder, never the developer's. */
  const clientEnv = () => ({ ...getDefaultEnvironment(), PATH: process.env.PATH ?? "", HOME: home.path, MCP_REMOTE_CONFIG_DIR: join(home.path, "mcp-auth") });

  async function toolsOver(command: string, args: string[], env: Record<string, string>): Promise<string[]> {
    const client = new Client({ name: "stdio-host", version: "1" });
    await client.connect(new StdioClientTransport({ command, args, env, cwd: REPO_ROOT, stderr: "pipe" }));
    try {
      return (await client.listTools()).tools.map((tool) => tool.name).sort();
    } finally {
      await client.close();
    }
  }

  test("mcp-remote, run as printed, is a stdio server that reaches the backend's tools", async () => {
    const [command, ...args] = shellWords((await printed("mcp-remote", "--backend", "lab")).trim());
    expect(await toolsOver(command!, args, clientEnv())).toEqual(expect.arrayContaining(["echo"]));
  }, 60_000);

  test("Claude Desktop's block, run as Claude Desktop runs it (command, args, env), reaches the tools", async () => {
    const server = Object.values(
      (JSON.parse(await printed("claude-desktop")) as { mcpServers: Record<string, { command: string; args: string[]; env: Record<string, string> }> })
        .mcpServers,
    )[0]!;
    expect(await toolsOver(server.command, server.args, { ...clientEnv(), ...server.env })).toEqual(expect.arrayContaining(["lab__echo"]));
  }, 60_000);

  test("the Inspector CLI, run as printed, lists the tools", async () => {
    const words = shellWords((await printed("inspector")).trim());
    const run = Bun.spawn(words, { cwd: REPO_ROOT, env: clientEnv(), stdout: "pipe", stderr: "pipe", stdin: "ignore" });
    const [stdout, stderr, code] = await Promise.all([new Response(run.stdout).text(), new Response(run.stderr).text(), run.exited]);
    expect(code, stderr).toBe(0);
    expect((JSON.parse(stdout) as { tools: { name: string }[] }).tools.map((tool) => tool.name)).toContain("lab__echo");
  }, 60_000);

  test("with an expired token, the Inspector and mcp-remote say what was wrong and what to do", async () => {
    const inspector = shellWords((await printed("inspector", "--ttl", "1s")).trim());
    const remote = shellWords((await printed("mcp-remote", "--ttl", "1s")).trim());
    await Bun.sleep(1_500);
    const run = Bun.spawn(inspector, { cwd: REPO_ROOT, env: clientEnv(), stdout: "pipe", stderr: "pipe", stdin: "ignore" });
    const [stdout, stderr, code] = await Promise.all([new Response(run.stdout).text(), new Response(run.stderr).text(), run.exited]);
    expect(code).not.toBe(0);
    expect(`${stdout}${stderr}`).toMatch(
      /the token expired at [^:]+:\d\d:\d\d[^:]*: this gateway is not an OAuth authorization server: ask the gateway's operator for a token \(mcpgw token issue/,
    );
    // mcp-remote goes for an OAuth login on any 401; the gateway's answer at /register is what it shows.
    const proxy = Bun.spawn(remote, { cwd: REPO_ROOT, env: clientEnv(), stdout: "pipe", stderr: "pipe", stdin: "pipe" });
    proxy.stdin.write(
      `${JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "desk", version: "1" } } })}\n`,
    );
    const killer = setTimeout(() => proxy.kill(), 30_000);
    const proxyErr = await new Response(proxy.stderr).text();
    clearTimeout(killer);
    expect(proxyErr).toContain("this gateway is not an OAuth authorization server: ask the gateway's operator for a token (mcpgw token issue");
  }, 90_000);
});

test("every client mcpgw knows has a block", () => {
  for (const client of CLIENTS) expect(clientConfig(client, { url: "http://127.0.0.1:8080/mcp", token: TOKEN, name: "mcpgw" }).text.length).toBeGreaterThan(0);
});
