/**
 * The configuration each MCP client needs to reach the gateway with a bearer token, in the form
 * that client documents, so a person pastes one block (`mcpgw client config`, docs/clients.md).
 *
 * - Claude Desktop reads only stdio servers from its file: it runs mcp-remote, which speaks HTTP
 *   to the gateway. The header goes through an environment variable, as mcp-remote's README
 *   advises: Claude Desktop and Cursor on Windows split arguments that contain spaces.
 * - Claude Code, Cursor and VS Code speak Streamable HTTP themselves and send configured headers.
 * - mcp-remote and the MCP Inspector CLI are commands.
 * Tested against the real mcp-remote and Inspector CLI (test/client-config.test.ts).
 */
export const CLIENTS = ["claude-desktop", "claude-code", "cursor", "vscode", "mcp-remote", "inspector"] as const;
export type ClientName = (typeof CLIENTS)[number];

export interface ClientConfigInput {
  /** The MCP endpoint: …/mcp or …/mcp/<backend>. */
  url: string;
  token: string;
  /** The server's name in the client's configuration. */
  name: string;
}

export interface ClientConfig {
  client: ClientName;
  /** "json": merge into the file named by `where`; "shell": run it. */
  kind: "json" | "shell";
  /** Where it goes, for the person (file locations per platform, or where to run it). */
  where: string[];
  text: string;
}

/** The variable Claude Desktop's snippet passes the header through (mcp-remote expands ${VAR} in --header). */
const HEADER_VARIABLE = "MCPGW_AUTHORIZATION";

export function clientConfig(client: ClientName, input: ClientConfigInput): ClientConfig {
  const { url, token, name } = input;
  const header = `Bearer ${token}`;
  switch (client) {
    case "claude-desktop":
      return {
        client,
        kind: "json",
        where: [
          "macOS: ~/Library/Application Support/Claude/claude_desktop_config.json",
          "Windows: %APPDATA%\\Claude\\claude_desktop_config.json",
          "(Settings > Developer > Edit Config opens it; restart Claude Desktop after saving; needs Node.js for npx)",
        ],
        text: json({
          mcpServers: {
            [name]: {
              command: "npx",
              args: ["-y", "mcp-remote", url, ...allowHttp(url), "--header", `Authorization:\${${HEADER_VARIABLE}}`],
              env: { [HEADER_VARIABLE]: header },
            },
          },
        }),
      };
    case "claude-code":
      return {
        client,
        kind: "shell",
        where: ["run in a terminal (add --scope user for every project, --scope project to share it through .mcp.json)"],
        text: `claude mcp add --transport http ${shellWord(name)} ${shellWord(url)} --header ${shellWord(`Authorization: ${header}`)}`,
      };
    case "cursor":
      return {
        client,
        kind: "json",
        where: ["~/.cursor/mcp.json (every project), or .cursor/mcp.json in a project"],
        text: json({ mcpServers: { [name]: { url, headers: { Authorization: header } } } }),
      };
    case "vscode":
      return {
        client,
        kind: "json",
        where: [".vscode/mcp.json in the workspace (or the user configuration: MCP: Open User Configuration)"],
        text: json({ servers: { [name]: { type: "http", url, headers: { Authorization: header } } } }),
      };
    case "mcp-remote":
      return {
        client,
        kind: "shell",
        where: ["a stdio MCP server command, for any client that runs one"],
        text: ["npx", "-y", "mcp-remote", url, ...allowHttp(url), "--header", `Authorization: ${header}`].map(shellWord).join(" "),
      };
    case "inspector":
      return {
        client,
        kind: "shell",
        where: ["run in a terminal (the MCP Inspector's CLI; without --cli it opens the web UI)"],
        // --stored-auth-only: the token is the credential, so a refusal is printed (with the
        // gateway's reason and what to do) instead of starting an OAuth login the gateway has no server for.
        text: [
          "npx",
          "-y",
          "@modelcontextprotocol/inspector",
          "--cli",
          url,
          "--transport",
          "http",
          "--header",
          `Authorization: ${header}`,
          "--stored-auth-only",
          "--method",
          "tools/list",
        ]
          .map(shellWord)
          .join(" "),
      };
  }
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** mcp-remote refuses plain http:// except on localhost unless told (its --allow-http). */
function allowHttp(url: string): string[] {
  const { protocol, hostname } = new URL(url);
  return protocol === "http:" && !["localhost", "127.0.0.1", "[::1]"].includes(hostname) ? ["--allow-http"] : [];
}

/** A word for a POSIX shell: as it is when it is safe, else single-quoted. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
