/**
 * `mcpgw tools list`, `mcpgw call` and `mcpgw backend test`'s tool names, through the real program
 * against a real database and the real server-everything over stdio: the gateway's pipeline runs
 * in the CLI process, so policy filters and refuses, limits count, and the audit log records the
 * call as made from the CLI, as the subject named with --as.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type CliResult, REPO_ROOT, runCli } from "./helpers/cli.ts";
import { type StoreFixture, postgresStoreFixture, sqliteStoreFixture } from "./helpers/store-fixtures.ts";

const EVERYTHING = join(REPO_ROOT, "node_modules", "@modelcontextprotocol", "server-everything", "dist", "index.js");

interface AuditLine {
  status: string;
  subject: string;
  roles: string[];
  backend: string;
  target: string;
  client: { name: string; version: string } | null;
  arguments: unknown;
}

toolsCliSuite("sqlite", () => sqliteStoreFixture("cli_tools"));
toolsCliSuite("postgres", () => postgresStoreFixture("cli_tools"));

function toolsCliSuite(label: string, setup: () => Promise<StoreFixture | undefined>): void {
  describe(`mcpgw tools list / call (${label})`, () => {
    let database: StoreFixture | undefined;
    const cli = (args: string[], env: Record<string, string> = {}): Promise<CliResult> =>
      runCli(["--db", database!.url, ...args], { env: { MCPGW_LOG_LEVEL: "warn", ...env } });
    const audit = async (): Promise<AuditLine[]> => {
      const tail = await cli(["audit", "tail", "--json", "-n", "100"]);
      return tail.stdout
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as AuditLine);
    };

    beforeAll(async () => {
      database = await setup();
      if (!database) return;
      for (const args of [
        ["migrate"],
        ["backend", "add", "everything", "--command", `node "${EVERYTHING}" stdio`, "--timeout", "20s"],
        ["role", "create", "dev", "--allow", "everything/*", "--deny", "everything/get-sum"],
        ["role", "grant", "dev", "alice"],
      ]) {
        const result = await cli(args);
        expect(result.code, result.stderr).toBe(0);
      }
    }, 60_000);
    afterAll(async () => database?.cleanup());

    test("call prints a tool's text as text and audits it as made from the CLI, as the --as subject with its granted roles", async (context) => {
      if (!database) return context.skip();
      const result = await cli(["call", "everything/echo", '{"message":"hello"}', "--as", "alice"]);
      expect(result, result.stderr).toMatchObject({ code: 0, stdout: "Echo: hello\n" });
      const record = (await audit()).at(-1)!;
      expect(record).toMatchObject({
        status: "ok",
        subject: "alice",
        roles: ["dev"],
        backend: "everything",
        target: "echo",
        client: { name: "mcpgw-cli" },
        arguments: { message: "hello" },
      });
    }, 60_000);

    test("policy applies: a denied call exits 1 saying which rule and how to grant, and is audited as denied", async (context) => {
      if (!database) return context.skip();
      const denied = await cli(["call", "everything/get-sum", '{"a":1,"b":2}', "--as", "alice"]);
      expect(denied.code).toBe(1);
      expect(denied.stdout).toBe("");
      expect(denied.stderr).toContain('denied by policy: "alice" may not use tool "everything/get-sum" (deny everything/get-sum (role dev))');
      expect(denied.stderr).toContain("mcpgw role grant ROLE alice");
      expect(denied.stderr).not.toMatch(/^\s+at /m);
      const stranger = await cli(["call", "everything/echo", '{"message":"x"}', "--as", "mallory"]);
      expect(stranger.code).toBe(1);
      expect(stranger.stderr).toContain('"mallory" has no granted roles');
      const records = (await audit()).slice(-2);
      expect(records).toMatchObject([
        { status: "denied", subject: "alice", target: "get-sum", client: { name: "mcpgw-cli" } },
        { status: "denied", subject: "mallory", roles: [], target: "echo", client: { name: "mcpgw-cli" } },
      ]);
    }, 60_000);

    test("--json prints the whole result; content that is not text is summarised; isError exits 1 with the tool's message", async (context) => {
      if (!database) return context.skip();
      const json = await cli(["call", "everything/get-tiny-image", "{}", "--as", "alice", "--json"]);
      expect(json.code, json.stderr).toBe(0);
      const whole = JSON.parse(json.stdout) as { content: { type: string; data?: string; mimeType?: string }[] };
      const image = whole.content.find((item) => item.type === "image")!;
      expect(image.mimeType).toBe("image/png");
      expect(image.data!.length).toBeGreaterThan(100);

      const text = await cli(["call", "everything/get-tiny-image", "{}", "--as", "alice"]);
      expect(text.code, text.stderr).toBe(0);
      const bytes = Buffer.from(image.data!, "base64").length;
      expect(text.stdout).toContain(`[image: image/png, ${bytes} bytes]`);
      expect(text.stdout).not.toContain(image.data!.slice(0, 40));

      const failing = await cli(["call", "everything/echo", "{}", "--as", "alice"]);
      expect(failing.code).toBe(1);
      expect(failing.stdout).toBe("");
      expect(failing.stderr).toMatch(/Invalid arguments for tool echo/);
      expect(failing.stderr).toContain("everything/echo reported an error (isError)");
      expect((await audit()).at(-1)).toMatchObject({ status: "error", subject: "alice", target: "echo" });
    }, 60_000);

    test("limits apply: a second call within a 1/min rule is refused with when to retry", async (context) => {
      if (!database) return context.skip();
      const rule = await cli(["limit", "set", "--sub", "bob", "--rate", "1/min"]);
      expect(rule.code, rule.stderr).toBe(0);
      expect((await cli(["role", "grant", "dev", "bob"])).code).toBe(0);
      const first = await cli(["call", "everything/echo", '{"message":"1"}', "--as", "bob"]);
      expect(first, first.stderr).toMatchObject({ code: 0, stdout: "Echo: 1\n" });
      const second = await cli(["call", "everything/echo", '{"message":"2"}', "--as", "bob"]);
      expect(second.code).toBe(1);
      expect(second.stderr).toMatch(/rate limited: "bob" may make 1\/min calls .*retry in/);
      expect((await audit()).at(-1)).toMatchObject({ status: "rate_limited", subject: "bob", client: { name: "mcpgw-cli" } });
    }, 60_000);

    test("tools list shows what the subject may use as BACKEND/TOOL, filtered by its roles; --json gives every field", async (context) => {
      if (!database) return context.skip();
      const list = await cli(["tools", "list", "--as", "alice"]);
      expect(list.code, list.stderr).toBe(0);
      expect(list.stdout).toMatch(/^TOOL +DESCRIPTION$/m);
      expect(list.stdout).toMatch(/^everything\/echo +Echoes back the input string$/m);
      expect(list.stdout).not.toContain("everything/get-sum");

      const json = await cli(["tools", "list", "--as", "alice", "--backend", "everything", "--json"]);
      expect(json.code, json.stderr).toBe(0);
      const tools = JSON.parse(json.stdout) as { backend: string; name: string; inputSchema: unknown }[];
      expect(tools.map((tool) => tool.name)).toContain("echo");
      expect(tools.map((tool) => tool.name)).not.toContain("get-sum");
      expect(tools.every((tool) => tool.backend === "everything" && typeof tool.inputSchema === "object")).toBe(true);

      const nobody = await cli(["tools", "list", "--as", "mallory"]);
      expect(nobody.code, nobody.stderr).toBe(0);
      expect(nobody.stdout).toContain('no tools that "mallory" may use (no granted roles)');
    }, 60_000);

    test("bad input says what to do: no --as, not BACKEND/TOOL, arguments not a JSON object, an unknown backend", async (context) => {
      if (!database) return context.skip();
      const noSubject = await cli(["call", "everything/echo", "{}"]);
      expect(noSubject.code).toBe(2);
      expect(noSubject.stderr).toContain("--as <subject>");
      const noSlash = await cli(["call", "echo", "{}", "--as", "alice"]);
      expect(noSlash.code).toBe(2);
      expect(noSlash.stderr).toContain('"echo" is not BACKEND/TOOL');
      const notJson = await cli(["call", "everything/echo", "{message:1}", "--as", "alice"]);
      expect(notJson.code).toBe(2);
      expect(notJson.stderr).toContain("the tool's arguments are not JSON");
      const array = await cli(["call", "everything/echo", "[1]", "--as", "alice"]);
      expect(array.code).toBe(2);
      expect(array.stderr).toContain("must be a JSON object, not an array");
      for (const args of [
        ["call", "nope/echo", "{}", "--as", "alice"],
        ["tools", "list", "--backend", "nope", "--as", "alice"],
      ]) {
        const unknown = await cli(args);
        expect(unknown.code).toBe(1);
        expect(unknown.stderr).toContain('there is no backend "nope"');
        expect(unknown.stderr).toContain("backend list");
      }
    }, 60_000);

    test("backend test lists the tool names under their count", async (context) => {
      if (!database) return context.skip();
      const result = await cli(["backend", "test", "everything"]);
      expect(result.code, result.stderr).toBe(0);
      const count = Number(/^ {2}tools: {5}(\d+)$/m.exec(result.stdout)?.[1]);
      const names = result.stdout
        .split("\n")
        .filter((line) => /^ {13}\S+$/.test(line))
        .map((line) => line.trim());
      expect(names).toHaveLength(count);
      expect(names).toContain("echo");
      expect(names).toContain("get-sum");
    }, 60_000);
  });
}
