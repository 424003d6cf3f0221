import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import {
  ErrorCode,
  ListPromptsResultSchema,
  ListResourcesResultSchema,
  ListToolsResultSchema,
  McpError,
  ToolListChangedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { REPO_ROOT } from "./helpers/cli.ts";
import { BUN, type TestGateway, connectClient, startTestGateway } from "./helpers/gateway.ts";

const LAB_SERVER = join(REPO_ROOT, "test/fixtures/lab-server.ts");
const BACKENDS = ["alpha", "beta"] as const;
/** Tools every lab server starts with (add-tool may add more while the file runs). */
const LAB_TOOLS = ["add-tool", "cancelled-requests", "crash", "echo", "sleep"];

type ListKind = "tools" | "prompts" | "resources";
const LIST_SCHEMAS = { tools: ListToolsResultSchema, prompts: ListPromptsResultSchema, resources: ListResourcesResultSchema } satisfies Record<
  ListKind,
  unknown
>;

/** Follows nextCursor by hand until the list ends; returns every page's names (or URIs for resources). */
async function listAllPages(client: Client, kind: ListKind): Promise<{ pages: string[][]; cursors: string[] }> {
  const pages: string[][] = [];
  const cursors: string[] = [];
  let cursor: string | undefined;
  do {
    const result = (await client.request({ method: `${kind}/list`, params: cursor === undefined ? {} : { cursor } }, LIST_SCHEMAS[kind])) as Record<
      string,
      unknown
    >;
    const items = result[kind] as { name: string; uri?: string }[];
    pages.push(items.map((item) => (kind === "resources" ? String(item.uri) : item.name)));
    cursor = result.nextCursor as string | undefined;
    if (cursor !== undefined) cursors.push(cursor);
    expect(pages.length, "pagination does not end").toBeLessThan(50);
  } while (cursor !== undefined);
  return { pages, cursors };
}

function textOf(result: Record<string, unknown>): string {
  return ((result.content ?? []) as { type: string; text?: string }[]).map((block) => block.text ?? "").join("\n");
}

describe("the aggregated endpoint /mcp over two lab backends", () => {
  let gw: TestGateway;
  let client: Client;
  const perBackend = new Map<string, Client>();

  beforeAll(async () => {
    // add-tool adds a tool at run time, which pinning would hold back (block, the default): warn serves it, flagged.
    gw = await startTestGateway(
      BACKENDS.map((name) => ({ name, command: [BUN, LAB_SERVER, "--stdio"], env: { LAB_NAME: name, LAB_PAGE_SIZE: "2" } })),
      {},
      {
        prepare: async (store) => {
          for (const name of BACKENDS) await store.pins.setPolicy(name, { driftMode: "warn" }, Date.now());
        },
      },
    );
    client = await connectClient(gw.mcpUrl(), {}, "aggregate-client");
    for (const name of BACKENDS) perBackend.set(name, await connectClient(gw.mcpUrl(name), {}, `${name}-client`));
  });

  afterAll(async () => {
    await Promise.all([client, ...perBackend.values()].map((c) => c?.close().catch(() => undefined)));
    await gw?.stop();
  });

  test("tools and prompts are <backend>__<name>, resources mcpgw://<backend>/<uri>", async () => {
    const tools = (await listAllPages(client, "tools")).pages.flat();
    const prompts = (await listAllPages(client, "prompts")).pages.flat();
    const resources = (await listAllPages(client, "resources")).pages.flat();
    for (const backend of BACKENDS) {
      for (const tool of LAB_TOOLS) expect(tools).toContain(`${backend}__${tool}`);
      expect(prompts).toContain(`${backend}__lab-greeting`);
      expect(resources).toContain(`mcpgw://${backend}/lab://welcome`);
    }
    expect(
      tools.every((name) => /^(alpha|beta)__[A-Za-z0-9_.-]+$/.test(name)),
      tools.join(", "),
    ).toBe(true);
    expect(
      prompts.every((name) => /^(alpha|beta)__/.test(name)),
      prompts.join(", "),
    ).toBe(true);
    expect(
      resources.every((uri) => /^mcpgw:\/\/(alpha|beta)\/lab:\/\//.test(uri)),
      resources.join(", "),
    ).toBe(true);
  });

  test("calls, prompts/get and resources/read reach the backend their name points at", async () => {
    for (const backend of BACKENDS) {
      const echoed = await client.callTool({ name: `${backend}__echo`, arguments: { text: "ping" } });
      expect(echoed.isError).toBeFalsy();
      expect(echoed.structuredContent).toEqual({ text: "ping", label: backend });
      expect(textOf(echoed)).toBe(`${backend}: ping`);

      const prompt = await client.getPrompt({ name: `${backend}__lab-greeting`, arguments: { who: "tester" } });
      expect(prompt.messages[0]?.content).toEqual({ type: "text", text: `hello tester, from ${backend}` });

      const read = await client.readResource({ uri: `mcpgw://${backend}/lab://welcome` });
      expect(read.contents).toHaveLength(1);
      expect(read.contents[0]).toMatchObject({ uri: `mcpgw://${backend}/lab://welcome`, text: `welcome from ${backend}` });
    }
  });

  test.each(["tools", "prompts", "resources"] as const)("%s/list pages follow nextCursor across both backends, every item exactly once", async (kind) => {
    const { pages, cursors } = await listAllPages(client, kind);
    const all = pages.flat();
    expect(new Set(all).size, `duplicates in ${all.join(", ")}`).toBe(all.length);
    expect(new Set(cursors).size).toBe(cursors.length);
    // Each backend's list is longer than one page (LAB_PAGE_SIZE 2); a page may end one backend and start the next.
    expect(pages.length).toBeGreaterThanOrEqual(3);
    for (const p of pages) expect(p.length).toBeLessThanOrEqual(2 * BACKENDS.length);

    // The same items, renamed, as each backend lists them on its own endpoint.
    const expected: string[] = [];
    for (const backend of BACKENDS) {
      const own = (await listAllPages(perBackend.get(backend)!, kind)).pages.flat();
      expect(own.length).toBeGreaterThan(2);
      expected.push(...own.map((item) => (kind === "resources" ? `mcpgw://${backend}/${item}` : `${backend}__${item}`)));
    }
    expect([...all].sort()).toEqual([...expected].sort());
  });

  test("an invalid cursor is an InvalidParams error", async () => {
    const bad = client.request({ method: "tools/list", params: { cursor: "not-a-cursor" } }, ListToolsResultSchema);
    await expect(bad).rejects.toSatisfy((err) => err instanceof McpError && err.code === ErrorCode.InvalidParams);
    await expect(client.request({ method: "prompts/list", params: { cursor: "%%%" } }, ListPromptsResultSchema)).rejects.toThrow(/invalid cursor/i);
  });

  test("a gateway cursor whose backend cursor the backend rejects is an InvalidParams error, not a silently shortened list", async () => {
    // Well-formed for the gateway ({backend, cursor} in base64url), but alpha never minted "offset-999".
    const tampered = Buffer.from(JSON.stringify({ backend: "alpha", cursor: "offset-999" })).toString("base64url");
    const result = client.request({ method: "tools/list", params: { cursor: tampered } }, ListToolsResultSchema);
    await expect(result).rejects.toSatisfy((err) => err instanceof McpError && err.code === ErrorCode.InvalidParams);
  });

  test("names that point at no backend are clear errors", async () => {
    await expect(client.callTool({ name: "nobackend__x", arguments: {} })).rejects.toThrow(/no backend "nobackend"/);
    await expect(client.callTool({ name: "echo", arguments: { text: "x" } })).rejects.toThrow(/does not name a backend.*<backend>__<name>/);
    await expect(client.readResource({ uri: "mcpgw://nobackend/lab://welcome" })).rejects.toThrow(/no backend "nobackend"/);
    await expect(client.readResource({ uri: "lab://welcome" })).rejects.toThrow(/does not name a backend/);
    await expect(client.getPrompt({ name: "nobackend__lab-greeting" })).rejects.toThrow(/no backend "nobackend"/);
  });

  test("add-tool on one backend: the /mcp client hears tools/list_changed and then lists the new prefixed tool", async () => {
    const listener = await connectClient(gw.mcpUrl(), {}, "list-changed-listener");
    try {
      let heard = 0;
      let resolveHeard!: () => void;
      const changed = new Promise<void>((resolve) => (resolveHeard = resolve));
      listener.setNotificationHandler(ToolListChangedNotificationSchema, () => {
        heard += 1;
        resolveHeard();
      });
      // A round trip first, so the client's GET stream (where unrelated notifications go) is open.
      await listener.listTools();
      await Bun.sleep(200);
      const before = (await listAllPages(listener, "tools")).pages.flat();
      expect(before).not.toContain("beta__fresh-tool");

      const added = await client.callTool({ name: "beta__add-tool", arguments: { name: "fresh-tool" } });
      expect(textOf(added)).toBe("beta: added fresh-tool");
      await Promise.race([changed, Bun.sleep(5_000).then(() => Promise.reject(new Error("no notifications/tools/list_changed within 5 s")))]);
      expect(heard).toBeGreaterThanOrEqual(1);

      const after = (await listAllPages(listener, "tools")).pages.flat();
      expect(after).toContain("beta__fresh-tool");
      expect(after).not.toContain("alpha__fresh-tool");
      expect(after.length).toBe(before.length + 1);
      const called = await listener.callTool({ name: "beta__fresh-tool", arguments: {} });
      expect(textOf(called)).toBe("beta: fresh-tool");
    } finally {
      await listener.close();
    }
  });
});
