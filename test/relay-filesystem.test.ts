/**
 * The real @modelcontextprotocol/server-filesystem over stdio behind the gateway, driven by the
 * real SDK Client through /mcp/fs: its tools do real work in a temporary folder, and its
 * refusals (paths outside the allowed folder) come back to the client as tool errors.
 */
import { mkdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { type CallToolResult, type ClientCapabilities, ListRootsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { NODE_MODULES, type TestGateway, startTestGateway, sessionTracker } from "./helpers/gateway.ts";
import { tempDir } from "./helpers/temp-dir.ts";

const FILESYSTEM = join(NODE_MODULES, "@modelcontextprotocol/server-filesystem/dist/index.js");

function texts(result: unknown): string {
  return ((result as CallToolResult).content ?? []).map((block) => (block.type === "text" ? block.text : "")).join("\n");
}

// realpath: the server compares resolved paths, and the temp folder may sit behind a symlink.
const allowed = tempDir("mcpgw-fs-allowed-");
const outside = tempDir("mcpgw-fs-outside-");
const root = realpathSync(allowed.path);
let gw: TestGateway;

beforeAll(async () => {
  writeFileSync(join(outside.path, "secret.txt"), "not for the backend's eyes");
  gw = await startTestGateway([{ name: "fs", command: ["node", FILESYSTEM, root] }]);
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  allowed.remove();
  outside.remove();
});

const sessions = sessionTracker("relay-fs-test");

function open(capabilities: ClientCapabilities = {}, setup?: (client: Client) => void): Promise<Client> {
  return sessions.open(gw.mcpUrl("fs"), capabilities, setup);
}

afterEach(() => sessions.endAll());

/** A client that offers the "outside" folder as its only root, and a check that the backend adopted it. */
function rootsClient() {
  const outsideRoot = realpathSync(outside.path);
  const asked: number[] = [];
  return {
    asked,
    setup: (client: Client) =>
      client.setRequestHandler(ListRootsRequestSchema, async () => {
        asked.push(Date.now());
        return { roots: [{ uri: pathToFileURL(outsideRoot).href, name: "outside" }] };
      }),
    async adopted(client: Client): Promise<void> {
      const expected = `Allowed directories:\n${outsideRoot}`;
      let listed = "";
      for (const deadline = Date.now() + 5_000; Date.now() < deadline && listed !== expected; await Bun.sleep(100)) {
        listed = texts(await client.callTool({ name: "list_allowed_directories", arguments: {} }));
      }
      expect(asked.length, "the client was never asked for its roots").toBeGreaterThan(0);
      expect(listed).toBe(expected);
      const read = await client.callTool({ name: "read_text_file", arguments: { path: join(outsideRoot, "secret.txt") } });
      expect(texts(read)).toBe("not for the backend's eyes");
    },
  };
}

describe("server-filesystem over stdio through /mcp/fs", () => {
  test("tools/list shows the filesystem tools under their own names", async () => {
    const client = await open();
    const tools = (await client.listTools()).tools;
    expect(tools.map((tool) => tool.name)).toEqual(
      expect.arrayContaining([
        "read_text_file",
        "write_file",
        "edit_file",
        "create_directory",
        "list_directory",
        "move_file",
        "search_files",
        "get_file_info",
        "list_allowed_directories",
      ]),
    );
    // Annotations and output schemas pass through untouched.
    expect(tools.find((tool) => tool.name === "write_file")).toMatchObject({
      annotations: { destructiveHint: true, readOnlyHint: false },
      outputSchema: { type: "object" },
    });
  });

  test("list_allowed_directories names the folder the backend was started with", async () => {
    const client = await open();
    expect(texts(await client.callTool({ name: "list_allowed_directories", arguments: {} }))).toBe(`Allowed directories:\n${root}`);
  });

  test("write_file then read_text_file round-trips through the backend and the disk", async () => {
    const client = await open();
    const path = join(root, "notes.txt");
    const content = "first line\nsecond line — with ünïcödé\n";
    const written = await client.callTool({ name: "write_file", arguments: { path, content } });
    expect(written.isError).toBeFalsy();
    expect(texts(written)).toBe(`Successfully wrote to ${path}`);
    expect(readFileSync(path, "utf8")).toBe(content);

    const read = await client.callTool({ name: "read_text_file", arguments: { path } });
    expect(read.isError).toBeFalsy();
    expect(texts(read)).toBe(content);
    expect(read.structuredContent).toEqual({ content });
    const head = await client.callTool({ name: "read_text_file", arguments: { path, head: 1 } });
    expect(texts(head)).toBe("first line");
  });

  test("create_directory and list_directory show files and folders", async () => {
    const client = await open();
    const listed = join(root, "listed");
    expect((await client.callTool({ name: "create_directory", arguments: { path: join(listed, "sub") } })).isError).toBeFalsy();
    writeFileSync(join(listed, "a.txt"), "a");
    mkdirSync(join(listed, "other"));
    const listing = texts(await client.callTool({ name: "list_directory", arguments: { path: listed } }));
    expect(listing.split("\n").sort()).toEqual(["[DIR] other", "[DIR] sub", "[FILE] a.txt"]);
  });

  test("a path outside the allowed folder comes back as a tool error (isError), not a protocol error", async () => {
    const client = await open();
    const secret = join(realpathSync(outside.path), "secret.txt");
    const read = await client.callTool({ name: "read_text_file", arguments: { path: secret } });
    expect(read.isError).toBe(true);
    expect(texts(read)).toContain("Access denied - path outside allowed directories");

    const escaped = await client.callTool({ name: "write_file", arguments: { path: join(root, "..", "escaped.txt"), content: "x" } });
    expect(escaped.isError).toBe(true);
    expect(texts(escaped)).toContain("Access denied");

    // The session is unharmed by the refusals.
    expect(texts(await client.callTool({ name: "list_directory", arguments: { path: root } }))).toBeDefined();
  });

  test("a missing file is a tool error naming the file", async () => {
    const client = await open();
    const missing = join(root, "does-not-exist.txt");
    const read = await client.callTool({ name: "read_text_file", arguments: { path: missing } });
    expect(read.isError).toBe(true);
    expect(texts(read)).toContain("ENOENT");
    expect(texts(read)).toContain(missing);
  });

  test("roots: the backend's roots/list at initialisation is answered by the client, and its roots are adopted", async () => {
    const roots = rootsClient();
    const client = await open({ roots: { listChanged: true } }, roots.setup);
    // server-filesystem asks for roots as soon as it is initialised: nothing else is needed.
    await roots.adopted(client);
  });

  test("roots: after notifications/roots/list_changed the backend asks again and adopts the new roots", async () => {
    const roots = rootsClient();
    const client = await open({ roots: { listChanged: true } }, roots.setup);
    await client.callTool({ name: "list_allowed_directories", arguments: {} });
    const asked = roots.asked.length;
    await client.sendRootsListChanged();
    await roots.adopted(client);
    expect(roots.asked.length).toBeGreaterThan(asked);
  });
});
