import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type CliResult, REPO_ROOT, runCli } from "./helpers/cli.ts";
import { BUN, connectClient, startTestGateway } from "./helpers/gateway.ts";
import { type StoreFixture, postgresStoreFixture, sqliteStoreFixture } from "./helpers/store-fixtures.ts";
import { tempDir } from "./helpers/temp-dir.ts";
import { onTerminal } from "./helpers/terminal.ts";

const EVERYTHING = join(REPO_ROOT, "node_modules", "@modelcontextprotocol", "server-everything", "dist", "index.js");
const LITERAL_SECRET = "sk-live-123";

/** A database for one suite: a SQLite file or a Postgres schema of its own. */
type Database = Pick<StoreFixture, "url" | "cleanup">;

backendCliSuite("sqlite", () => sqliteStoreFixture("cli_backend"));
backendCliSuite("postgres", () => postgresStoreFixture("cli_backend"));

/** The `mcpgw backend` commands, driven through the real program against one database. */
function backendCliSuite(label: string, setup: () => Promise<Database | undefined>): void {
  describe(`mcpgw backend (${label})`, () => {
    let database: Database | undefined;
    // Every output of this suite, checked at the end for the literal secret.
    const outputs: CliResult[] = [];
    const marker = `mcpgw-cli-test-${crypto.randomUUID()}`;

    async function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
      const result = await runCli(["--db", database!.url, ...args], { env });
      outputs.push(result);
      return result;
    }

    beforeAll(async () => {
      database = await setup();
      if (database) expect((await cli(["migrate"])).code).toBe(0);
    });
    afterAll(async () => database?.cleanup());

    test("add registers stdio and http backends; list shows a table and JSON", async (context) => {
      if (!database) return context.skip();
      // Tested before it is saved, with ${GREETING} resolved from this environment.
      const stdio = await cli(
        ["backend", "add", "everything", "--command", `node "${EVERYTHING}" stdio ${marker}`, "--env", "GREETING=${GREETING}", "--timeout", "20s"],
        { GREETING: "hi" },
      );
      expect(stdio, stdio.stderr).toMatchObject({ code: 0 });
      expect(stdio.stdout).toContain('added backend "everything" (stdio: node');
      expect(stdio.stderr).toMatch(/^tested: \S+ \S+ answered over stdio \(protocol \d{4}-\d{2}-\d{2}\) with \d+ tools in \d/m);
      expect(processesMentioning(marker)).toEqual([]);
      // Hosts that do not exist: saved only because the test is skipped.
      const http = await cli([
        "backend",
        "add",
        "remote",
        "--url",
        "https://mcp.example.com/sse",
        "--transport",
        "sse",
        "--header",
        "Authorization: Bearer ${API_KEY}",
        "--timeout",
        "45s",
        "--no-test",
      ]);
      expect(http.code, http.stderr).toBe(0);
      expect(http.stderr).toContain("not tested (--no-test); check it with: mcpgw backend test remote");
      const leaky = await cli([
        "backend",
        "add",
        "leaky",
        "--url",
        "https://x.example.com/mcp",
        "--header",
        `Authorization: Bearer ${LITERAL_SECRET}`,
        "--no-test",
      ]);
      expect(leaky.code, leaky.stderr).toBe(0);
      expect(leaky.stderr).toMatch(/prefer \$\{VAR\} references/);

      const table = await cli(["backend", "list"]);
      expect(table.code).toBe(0);
      const lines = table.stdout.trimEnd().split("\n");
      expect(lines[0]).toMatch(/^NAME\s+TRANSPORT\s+TARGET\s+TIMEOUT\s+PINS$/);
      expect(lines.slice(1).map((line) => line.split(/\s+/)[0])).toEqual(["everything", "leaky", "remote"]);
      expect(table.stdout).toMatch(/remote\s+sse\s+https:\/\/mcp\.example\.com\/sse\s+45s/);
      expect(table.stdout).toMatch(/everything\s+stdio\s+node .*index\.js stdio mcpgw-cli-test-\S+\s+20s/);

      const json = await cli(["backend", "list", "--json"]);
      expect(json.code).toBe(0);
      const listed = JSON.parse(json.stdout) as {
        name: string;
        transport: string;
        url?: string;
        command?: string[];
        env: object;
        headers: object;
        timeoutMs: number;
      }[];
      expect(listed.map((b) => [b.name, b.transport, b.timeoutMs])).toEqual([
        ["everything", "stdio", 20_000],
        ["leaky", "streamable-http", 30_000],
        ["remote", "sse", 45_000],
      ]);
      expect(listed[0]).toMatchObject({ command: ["node", EVERYTHING, "stdio", marker], env: { GREETING: "${GREETING}" }, headers: {} });
      expect(listed[1]?.headers).toEqual({ Authorization: "***" });
      expect(listed[2]).toMatchObject({ url: "https://mcp.example.com/sse", headers: { Authorization: "Bearer ${API_KEY}" }, env: {} });
      // Pinning: new backends trust their first listing and block drift (docs/security.md).
      expect(listed[0]).toMatchObject({ pins: { pinMode: "tofu", driftMode: "block", suspicious: "flag", counts: {}, review: [] } });
    });

    test("show prints one backend for people and for scripts, secrets redacted", async (context) => {
      if (!database) return context.skip();
      const shown = await cli(["backend", "show", "remote"]);
      expect(shown.code).toBe(0);
      expect(shown.stdout).toMatch(/^transport:\s+sse$/m);
      expect(shown.stdout).toMatch(/^url:\s+https:\/\/mcp\.example\.com\/sse$/m);
      expect(shown.stdout).toMatch(/^headers:\s+Authorization: Bearer \$\{API_KEY\}$/m);
      expect(shown.stdout).toMatch(/^timeout:\s+45s$/m);

      const leaky = await cli(["backend", "show", "leaky", "--json"]);
      expect(leaky.code).toBe(0);
      expect(JSON.parse(leaky.stdout)).toMatchObject({ name: "leaky", headers: { Authorization: "***" } });
      expect((await cli(["backend", "show", "leaky"])).stdout).toMatch(/^headers:\s+Authorization: \*\*\*$/m);
    });

    test("adding a taken name fails with exit 1 and says what to do", async (context) => {
      if (!database) return context.skip();
      const result = await cli(["backend", "add", "remote", "--url", "https://other.example.com/mcp"]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('backend "remote" already exists');
      expect(result.stderr).toContain("mcpgw backend update remote");
      expect(result.stderr).not.toMatch(/^\s+at /m);
    });

    test("remove deletes a backend; removing or showing an unknown one fails with exit 1", async (context) => {
      if (!database) return context.skip();
      const unknown = await cli(["backend", "remove", "ghost"]);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('there is no backend "ghost"');
      expect(unknown.stderr).toContain("mcpgw backend list");

      expect((await cli(["backend", "add", "temporary", "--command", "true", "--no-test"])).code).toBe(0);
      const removed = await cli(["backend", "remove", "temporary", "--yes"]);
      expect(removed).toMatchObject({ code: 0, stdout: 'removed backend "temporary"\n' });
      expect((await cli(["backend", "show", "temporary"])).code).toBe(1);
      expect((await cli(["backend", "test", "temporary"])).code).toBe(1);
    });

    test.for<[string, string[], RegExp]>([
      ["--url and --command", ["--url", "https://a.example/mcp", "--command", "prog"], /either --url or --command, not both/],
      ["neither --url nor --command", [], /needs --url or --command/],
      ["a URL that is not http(s)", ["--url", "ftp://files.example.com"], /not an http\(s\) URL/],
      ["a malformed --env", ["--command", "prog", "--env", "NOEQUALS"], /--env needs KEY=VALUE/],
      ["a malformed --header", ["--url", "https://a.example/mcp", "--header", "no colon"], /is not "Name: value"/],
      ["a bad --timeout", ["--command", "prog", "--timeout", "soon"], /--timeout: "soon" is not a duration/],
      ["a --timeout over 1h", ["--command", "prog", "--timeout", "2h"], /--timeout "2h" is out of range/],
      ["an unknown --transport", ["--url", "https://a.example/mcp", "--transport", "websocket"], /--transport.*invalid/],
      ["a bad name", ["--command", "prog"], /not a valid backend name/],
    ])("add with %s is a usage error (exit 2) that says what to do", async ([label, flags, message], context) => {
      if (!database) return context.skip();
      const name = label === "a bad name" ? "Bad__Name" : "flagged";
      const result = await cli(["backend", "add", name, ...flags]);
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).toMatch(/→|--help/);
      expect(result.stderr).not.toMatch(/^\s+at /m);
      expect((await cli(["backend", "show", "flagged"])).code).toBe(1);
    });

    test("test connects to server-everything over stdio and reports its tools", async (context) => {
      if (!database) return context.skip();
      const result = await cli(["backend", "test", "everything"], { GREETING: "hi" });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain('backend "everything" is reachable');
      expect(result.stdout).toMatch(/server:\s+\S+/);
      expect(result.stdout).toMatch(/protocol:\s+\d{4}-\d{2}-\d{2}/);
      expect(Number(/tools:\s+(\d+)/.exec(result.stdout)?.[1])).toBeGreaterThan(0);
      expect(result.stdout).toMatch(/connected: in \d/);

      const json = await cli(["backend", "test", "everything", "--json"], { GREETING: "hi" });
      expect(json.code, json.stderr).toBe(0);
      const report = JSON.parse(json.stdout) as { ok: boolean; toolCount: number; tools: string[]; server: { name: string } };
      expect(report.ok).toBe(true);
      expect(report.toolCount).toBeGreaterThan(0);
      expect(report.tools).toContain("echo");
      expect(processesMentioning(marker)).toEqual([]);
    });

    test("test with an unset ${VAR} fails with exit 1 naming the variable", async (context) => {
      if (!database) return context.skip();
      const result = await cli(["backend", "test", "everything"], { GREETING: undefined });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('backend "everything": env "GREETING" uses ${GREETING}, but GREETING is not set');
      expect(result.stderr).toMatch(/→ set GREETING/);
      expect(processesMentioning(marker)).toEqual([]);
    });

    test("test of a command that does not exist fails with exit 1 and leaves nothing running", async (context) => {
      if (!database) return context.skip();
      expect((await cli(["backend", "add", "missing", "--command", `no-such-mcp-server-${marker} --flag`, "--no-test"])).code).toBe(0);
      const result = await cli(["backend", "test", "missing"]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/backend "missing": program "no-such-mcp-server-\S+" was not found/);
      expect(result.stderr).toMatch(/→ install it, or use its full path/);
      expect(result.stderr).not.toMatch(/^\s+at /m);
      expect(processesMentioning(marker)).toEqual([]);
    });

    test("test of an http URL nobody listens on fails with exit 1", async (context) => {
      if (!database) return context.skip();
      const url = `http://127.0.0.1:${await freePort()}/mcp`;
      expect((await cli(["backend", "add", "nobody", "--url", url, "--no-test"])).code).toBe(0);
      const result = await cli(["backend", "test", "nobody"]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`backend "nobody": nothing is listening at ${url} (connection refused)`);
      expect(result.stderr).toMatch(/→ start the server, or fix the URL/);
    });

    test("test of a program that never answers times out and its process is gone afterwards", async (context) => {
      if (!database) return context.skip();
      const command = `node -e "setInterval(() => {}, 1000)" ${marker}`;
      expect((await cli(["backend", "add", "silent", "--command", command, "--timeout", "1s", "--no-test"])).code).toBe(0);
      const result = await cli(["backend", "test", "silent"]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('backend "silent" timed out after 1s');
      expect(result.stderr).toMatch(/--timeout/);
      expect(processesMentioning(marker)).toEqual([]);
    });

    test("add tests the backend first: a failed test saves nothing and says why and how to skip the test", async (context) => {
      if (!database) return context.skip();
      const url = `http://127.0.0.1:${await freePort()}/mcp`;
      const refused = await cli(["backend", "add", "untested", "--url", url]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(
        `error: backend "untested" was not added: testing it failed: backend "untested": nothing is listening at ${url} (connection refused)`,
      );
      expect(refused.stderr).toContain("to save it without the test");
      expect(refused.stderr).toContain("mcpgw backend add untested … --no-test");
      expect(refused.stderr).not.toMatch(/^\s+at /m);
      expect((await cli(["backend", "show", "untested"])).code).toBe(1);

      const missing = await cli(["backend", "add", "untested", "--command", `no-such-mcp-server-${marker}`]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/was not added: testing it failed: backend "untested": program "no-such-mcp-server-\S+" was not found/);
      expect((await cli(["backend", "show", "untested"])).code).toBe(1);
      expect(processesMentioning(marker)).toEqual([]);

      // A ${VAR} set only where the gateway runs: the test cannot resolve it here, --no-test saves anyway.
      const unset = await cli(["backend", "add", "untested", "--command", `node "${EVERYTHING}" stdio`, "--env", "TOKEN=${UNSET_IN_THIS_TEST}"]);
      expect(unset.code).toBe(1);
      expect(unset.stderr).toContain("UNSET_IN_THIS_TEST is not set");
      const skipped = await cli(["backend", "add", "untested", "--url", url, "--no-test"]);
      expect(skipped.code, skipped.stderr).toBe(0);
      expect((await cli(["backend", "remove", "untested", "--yes"])).code).toBe(0);
    });

    test("update changes only what is given, validates like add, and tests unless --no-test", async (context) => {
      if (!database) return context.skip();
      const show = async () =>
        JSON.parse((await cli(["backend", "show", "everything", "--json"])).stdout) as {
          transport: string;
          url?: string;
          command?: string[];
          env: Record<string, string>;
          timeoutMs: number;
          limits?: object;
          createdAt: string;
          updatedAt: string;
        };
      const before = await show();
      const command = before.command!;

      const updated = await cli(["backend", "update", "everything", "--timeout", "25s", "--max-concurrency", "4"], { GREETING: "hi" });
      expect(updated.code, updated.stderr).toBe(0);
      expect(updated.stdout).toBe('updated backend "everything": timeout, limits (running gateways reconnect it within a second)\n');
      expect(updated.stderr).toMatch(/^tested: .* with \d+ tools/m);
      const after = await show();
      expect(after).toMatchObject({
        transport: "stdio",
        command,
        env: { GREETING: "${GREETING}" },
        timeoutMs: 25_000,
        limits: { maxConcurrency: 4 },
        createdAt: before.createdAt,
      });
      expect(Date.parse(after.updatedAt)).toBeGreaterThan(Date.parse(before.updatedAt));

      const same = await cli(["backend", "update", "everything", "--timeout", "25s"]);
      expect(same).toMatchObject({ code: 0, stdout: 'backend "everything" already has these settings: nothing changed\n' });

      // Validated as add validates: the merged settings must make sense together.
      const invalid = await cli(["backend", "update", "everything", "--max-queue", "5", "--unset", "max-concurrency"]);
      expect(invalid.code).toBe(2);
      expect(invalid.stderr).toContain("--max-queue needs --max-concurrency");
      const headerOnStdio = await cli(["backend", "update", "everything", "--header", "X-A: b"]);
      expect(headerOnStdio.code).toBe(2);
      expect(headerOnStdio.stderr).toContain("--header applies only to --url backends");

      // A failed test changes nothing.
      const url = `http://127.0.0.1:${await freePort()}/mcp`;
      const untested = await cli(["backend", "update", "everything", "--url", url]);
      expect(untested.code).toBe(1);
      expect(untested.stderr).toContain(`error: backend "everything" was not changed: testing it failed: backend "everything": nothing is listening at ${url}`);
      expect(untested.stderr).toContain("mcpgw backend update everything … --no-test");
      expect(await show()).toEqual(after);

      // Switching to --url drops the stdio-only env, and says so.
      const switched = await cli(["backend", "update", "everything", "--url", url, "--header", "X-Team: a", "--no-test"]);
      expect(switched.code, switched.stderr).toBe(0);
      expect(switched.stdout).toContain("transport, url, command, env, headers");
      expect(switched.stderr).toContain("note: dropped the env, which applies only to the other kind of backend");
      expect(await show()).toMatchObject({ transport: "streamable-http", url, env: {}, timeoutMs: 25_000, limits: { maxConcurrency: 4 } });

      // And back, with --unset returning settings to their defaults.
      const back = await cli(
        [
          "backend",
          "update",
          "everything",
          "--command",
          `node "${EVERYTHING}" stdio ${marker}`,
          "--env",
          "GREETING=${GREETING}",
          "--unset",
          "timeout",
          "--unset",
          "max-concurrency",
        ],
        { GREETING: "hi" },
      );
      expect(back.code, back.stderr).toBe(0);
      expect(await show()).toMatchObject({ transport: "stdio", command, env: { GREETING: "${GREETING}" }, timeoutMs: 30_000 });
      expect((await show()).limits).toBeUndefined();
      expect(processesMentioning(marker)).toEqual([]);

      const ghost = await cli(["backend", "update", "ghost", "--timeout", "5s"]);
      expect(ghost.code).toBe(1);
      expect(ghost.stderr).toContain('there is no backend "ghost"');
      const nothing = await cli(["backend", "update", "everything"]);
      expect(nothing.code).toBe(2);
      expect(nothing.stderr).toContain("nothing to change");
    });

    test("remove asks first: without a terminal and without --yes it refuses (exit 2), naming the role patterns that name the backend", async (context) => {
      if (!database) return context.skip();
      expect((await cli(["backend", "add", "doomed", "--command", "true", "--no-test"])).code).toBe(0);
      expect((await cli(["role", "create", "doomed-users", "--allow", "doomed/*", "--deny", "doomed/drop_*", "--allow", "remote/*"])).code).toBe(0);

      const refused = await cli(["backend", "remove", "doomed"]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('error: remove backend "doomed" needs confirmation, and stdin is not a terminal');
      expect(refused.stderr).toContain("leave role doomed-users: allow doomed/*, deny doomed/drop_* matching nothing");
      expect(refused.stderr).toContain("→ pass --yes to go ahead without asking: mcpgw backend remove doomed --yes");
      expect((await cli(["backend", "show", "doomed"])).code).toBe(0);

      const removed = await cli(["backend", "remove", "doomed", "--yes"]);
      expect(removed).toMatchObject({ code: 0, stdout: 'removed backend "doomed"\n' });
      expect(removed.stderr).toContain("role doomed-users: allow doomed/*, deny doomed/drop_*");
      expect(removed.stderr).toContain("mcpgw role update ROLE --remove-rule");
      expect((await cli(["backend", "show", "doomed"])).code).toBe(1);
      expect((await cli(["role", "delete", "doomed-users", "--yes"])).code).toBe(0);
    });

    test("on a terminal, remove asks, and only yes removes", async (context) => {
      if (!database) return context.skip();
      expect((await cli(["backend", "add", "asked", "--command", "true", "--no-test"])).code).toBe(0);
      const no = await onTerminal(["--db", database.url, "backend", "remove", "asked"], "n\r");
      expect(no.output).toContain('Remove backend "asked"?');
      expect(no.output).toContain("not confirmed: nothing was changed");
      expect((await cli(["backend", "show", "asked"])).code).toBe(0);
      const yes = await onTerminal(["--db", database.url, "backend", "remove", "asked"], "y\r");
      expect(yes.output).toContain('removed backend "asked"');
      expect((await cli(["backend", "show", "asked"])).code).toBe(1);
    });

    test("--auth: add saves the mode untested (there is no caller to test as), show names it, update switches and unsets it", async (context) => {
      if (!database) return context.skip();
      const url = "https://tickets.example.com/mcp";
      const added = await cli(["backend", "add", "tickets", "--url", url, "--auth", "gateway-assertion", "--auth-header", "X-Caller"]);
      expect(added.code, added.stderr).toBe(0);
      expect(added.stderr).toContain("not tested: it takes per-caller credentials (--auth gateway-assertion); check it as a caller: mcpgw call tickets/TOOL");
      const shown = await cli(["backend", "show", "tickets"]);
      expect(shown.stdout).toContain(`\nauth:      gateway-assertion: a JWT per call signed by the gateway (aud ${url}) in X-Caller\n`);
      expect(JSON.parse((await cli(["backend", "show", "tickets", "--json"])).stdout).auth).toEqual({ mode: "gateway-assertion", header: "X-Caller" });
      expect(JSON.parse((await cli(["backend", "show", "remote", "--json"])).stdout).auth).toEqual({ mode: "static" });
      const tested = await cli(["backend", "test", "tickets"]);
      expect(tested.code).toBe(2);
      expect(tested.stderr).toContain("mcpgw call tickets/TOOL '{}' --as SUBJECT");

      // A new mode starts from its own defaults: the header option does not carry over.
      const audience = await cli(["backend", "update", "tickets", "--auth", "gateway-assertion", "--assertion-audience", "tickets-api"]);
      expect(audience.code, audience.stderr).toBe(0);
      expect(audience.stdout).toContain('updated backend "tickets": auth');
      expect(JSON.parse((await cli(["backend", "show", "tickets", "--json"])).stdout).auth).toEqual({ mode: "gateway-assertion", audience: "tickets-api" });
      const unset = await cli(["backend", "update", "tickets", "--unset", "auth", "--no-test"]);
      expect(unset.code, unset.stderr).toBe(0);
      expect(JSON.parse((await cli(["backend", "show", "tickets", "--json"])).stdout).auth).toEqual({ mode: "static" });
      const stdio = await cli(["backend", "add", "local", "--command", "node server.js", "--auth", "gateway-assertion", "--no-test"]);
      expect(stdio.code).toBe(2);
      expect(stdio.stderr).toContain("--auth gateway-assertion applies only to --url (HTTP) backends");
      expect((await cli(["backend", "remove", "tickets", "--yes"])).code).toBe(0);
    });

    test("--auth token-exchange: the token endpoint, audience, scope and client are saved; the client secret only as a ${VAR}", async (context) => {
      if (!database) return context.skip();
      const url = "https://tickets.example.com/mcp";
      const endpoint = "https://idp.example.com/oauth2/token";
      const flags = ["--auth", "token-exchange", "--token-endpoint", endpoint, "--exchange-scope", "tickets:read", "--client-id", "mcpgw"];
      const literal = await cli(["backend", "add", "xtickets", "--url", url, ...flags, "--client-secret", LITERAL_SECRET]);
      expect(literal.code).toBe(2);
      expect(literal.stderr).toContain("--client-secret takes a ${VAR} reference, never the secret itself");
      const added = await cli(["backend", "add", "xtickets", "--url", url, ...flags, "--client-secret", "${XCH_SECRET}"]);
      expect(added.code, added.stderr).toBe(0);
      expect(added.stderr).toContain("not tested: it takes per-caller credentials (--auth token-exchange)");
      const shown = await cli(["backend", "show", "xtickets"]);
      expect(shown.stdout).toContain(
        `token-exchange: the caller's identity-provider token exchanged at ${endpoint} (aud ${url}, scope "tickets:read"), as client mcpgw (secret \${XCH_SECRET})`,
      );
      const stored = { mode: "token-exchange", tokenEndpoint: endpoint, scope: "tickets:read", clientId: "mcpgw", clientSecret: "${XCH_SECRET}" };
      expect(JSON.parse((await cli(["backend", "show", "xtickets", "--json"])).stdout).auth).toEqual(stored);
      // Other settings change without touching the exchange's; a new mode drops them.
      expect((await cli(["backend", "update", "xtickets", "--timeout", "10s", "--no-test"])).code).toBe(0);
      expect(JSON.parse((await cli(["backend", "show", "xtickets", "--json"])).stdout).auth).toEqual(stored);
      const orphan = await cli(["backend", "update", "xtickets", "--auth", "gateway-assertion", "--exchange-scope", "x", "--no-test"]);
      expect(orphan.code).toBe(2);
      expect(orphan.stderr).toContain("--exchange-scope applies only to --auth token-exchange");
      expect((await cli(["backend", "update", "xtickets", "--auth", "gateway-assertion", "--no-test"])).code).toBe(0);
      expect(JSON.parse((await cli(["backend", "show", "xtickets", "--json"])).stdout).auth).toEqual({ mode: "gateway-assertion" });
      expect((await cli(["backend", "remove", "xtickets", "--yes"])).code).toBe(0);
    });

    test("no output ever shows a literal secret", (context) => {
      if (!database) return context.skip();
      expect(outputs.length).toBeGreaterThan(10);
      for (const output of outputs) expect(`${output.stdout}${output.stderr}`).not.toContain(LITERAL_SECRET);
    });
  });
}

describe("backend update and a running gateway", () => {
  test("the gateway reconnects an updated backend within about a second: calls reach the new settings", async () => {
    const dir = tempDir("mcpgw-update-live-");
    const url = `sqlite:${join(dir.path, "gw.db")}`;
    const lab = { name: "lab", command: [BUN, join(REPO_ROOT, "test/fixtures/lab-server.ts"), "--stdio"], env: { LAB_NAME: "before" } };
    const gw = await startTestGateway([lab], {}, { databaseUrl: url });
    try {
      const echo = async () => {
        const client = await connectClient(gw.mcpUrl("lab"));
        try {
          const result = (await client.callTool({ name: "echo", arguments: { text: "hi" } })) as { content: { text: string }[] };
          return result.content[0]!.text;
        } finally {
          await client.close();
        }
      };
      expect(await echo()).toBe("before: hi");
      const updated = await runCli(["--db", url, "backend", "update", "lab", "--env", "LAB_NAME=after"]);
      expect(updated.code, updated.stderr).toBe(0);
      let seen = "";
      for (let waited = 0; waited < 5_000 && seen !== "after: hi"; waited += 250) {
        await Bun.sleep(250);
        seen = await echo();
      }
      expect(seen).toBe("after: hi");
    } finally {
      await gw.stop();
      dir.remove();
    }
  }, 30_000);
});

/** Command lines of running processes that contain `marker` (Linux /proc; empty elsewhere). */
function processesMentioning(marker: string): string[] {
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((entry) => /^\d+$/.test(entry));
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const pid of pids) {
    try {
      const commandLine = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      // This test process's own children (runCli → bun) name the marker only in their arguments.
      if (commandLine.includes(marker) && !commandLine.includes("cli/main.ts")) found.push(`${pid}: ${commandLine}`);
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

/** A TCP port that nothing listens on: bound once, then released. */
async function freePort(): Promise<number> {
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = server.port!;
  await server.stop(true);
  return port;
}
