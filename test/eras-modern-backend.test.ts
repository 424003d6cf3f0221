import { join } from "node:path";
import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from "@modelcontextprotocol/client";
import { CreateMessageRequestSchema, ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { REPO_ROOT } from "./helpers/cli.ts";
import { BUN, type TestGateway, connectClient, startTestGateway } from "./helpers/gateway.ts";
import { type StartedProcess, freePort, startProcess } from "./helpers/process.ts";

/**
 * A 2026-07-28-only server of our own (test/fixtures/modern-server.ts, SDK v2) behind the gateway,
 * over stdio and Streamable HTTP (issue 14, acceptances 2 and 3): a 2025 client (SDK v1) and a
 * 2026-07-28 client (SDK v2) each drive it — tools, resources, prompts, completion, progress,
 * and its input_required questions, which the 2025 client answers as ordinary server-to-client
 * requests (the gateway bridges) and the 2026 client answers itself (passed through) — and a
 * modern client on /mcp uses it beside a 2025 backend.
 */
const VERSION = "2026-07-28";
const FIXTURE = join(REPO_ROOT, "test/fixtures/modern-server.ts");
const LAB = { name: "lab", command: [BUN, join(REPO_ROOT, "test/fixtures/lab-server.ts"), "--stdio"], env: { LAB_NAME: "lab" } };

let gw: TestGateway;
let httpFixture: StartedProcess;

beforeAll(async () => {
  const port = await freePort();
  httpFixture = await startProcess([BUN, FIXTURE, "--port", String(port)], /listening on/, { MODERN_NAME: "modern-http" });
  gw = await startTestGateway([
    { name: "modern", command: [BUN, FIXTURE, "--stdio"], env: { MODERN_NAME: "modern" } },
    { name: "modern-http", url: `http://127.0.0.1:${port}/mcp` },
    LAB,
  ]);
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  httpFixture?.kill();
});

function texts(result: unknown): string {
  return (((result as { content?: unknown }).content ?? []) as { text?: string }[]).map((block) => block.text ?? "").join("\n");
}

describe.each(["modern", "modern-http"])("a 2026-07-28-only backend (%s) through the gateway", (backend) => {
  test("a 2025 client: tools, resources, prompts, completion, progress; its backend's questions come as requests on its session", async () => {
    const asked: string[] = [];
    const client = await connectClient(gw.mcpUrl(backend), { elicitation: {}, sampling: {} });
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      asked.push(`elicitation: ${request.params.message}`);
      return { action: "accept", content: { name: "Ada" } };
    });
    client.setRequestHandler(CreateMessageRequestSchema, async () => {
      asked.push("sampling");
      return { role: "assistant", model: "fake-llm", content: { type: "text", text: "short" } };
    });
    try {
      expect(client.getServerVersion()?.name).toBeDefined();
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(expect.arrayContaining(["echo", "ask_name", "summarize", "slow_count"]));
      expect(texts(await client.callTool({ name: "echo", arguments: { text: "old client" } }))).toBe(`${backend}: old client`);
      expect(texts(await client.callTool({ name: "ask_name", arguments: {} }))).toBe("Hello, Ada!");
      expect(texts(await client.callTool({ name: "summarize", arguments: { text: "a long text" } }))).toContain("summary(fake-llm): short");
      expect(asked).toEqual(["elicitation: What is your name?", "sampling"]);
      const progress: number[] = [];
      await client.callTool({ name: "slow_count", arguments: { n: 3 } }, undefined, { onprogress: (p) => progress.push(p.progress) });
      expect(progress).toEqual([1, 2, 3]);
      expect((await client.readResource({ uri: "modern://welcome" })).contents[0]).toMatchObject({ text: `welcome from ${backend}` });
      expect(JSON.stringify((await client.getPrompt({ name: "modern_greeting", arguments: { who: "bob" } })).messages)).toContain(`hello bob, from ${backend}`);
      const completion = await client.complete({ ref: { type: "ref/prompt", name: "modern_greeting" }, argument: { name: "who", value: "ca" } });
      expect(completion.completion.values).toEqual(["carol"]);
    } finally {
      await client.close();
    }
  });

  test("a 2026-07-28 client: the same, with the backend's input_required passed through to it", async () => {
    const asked: string[] = [];
    const client = new ModernClient(
      { name: "modern-client", version: "1" },
      { capabilities: { elicitation: { form: {} }, sampling: {} }, versionNegotiation: { mode: { pin: VERSION } } },
    );
    client.setRequestHandler("elicitation/create", async () => {
      asked.push("elicitation");
      return { action: "accept", content: { name: "Grace" } };
    });
    client.setRequestHandler("sampling/createMessage", async () => {
      asked.push("sampling");
      return { role: "assistant", model: "fake-llm", content: { type: "text", text: "brief" } };
    });
    await client.connect(new ModernTransport(gw.mcpUrl(backend)));
    try {
      expect(texts(await client.callTool({ name: "echo", arguments: { text: "new client" } }))).toBe(`${backend}: new client`);
      expect(texts(await client.callTool({ name: "ask_name", arguments: {} }))).toBe("Hello, Grace!");
      expect(texts(await client.callTool({ name: "summarize", arguments: { text: "words" } }))).toContain("summary(fake-llm): brief");
      expect(asked).toEqual(["elicitation", "sampling"]);
      const progress: number[] = [];
      await client.callTool({ name: "slow_count", arguments: { n: 2 } }, { onprogress: (p) => progress.push(p.progress) });
      expect(progress).toEqual([1, 2]);
      expect((await client.readResource({ uri: "modern://welcome" })).contents[0]).toMatchObject({ text: `welcome from ${backend}` });
      const completion = await client.complete({ ref: { type: "ref/prompt", name: "modern_greeting" }, argument: { name: "who", value: "a" } });
      expect(completion.completion.values).toEqual(["alice"]);
    } finally {
      await client.close();
    }
  });
});

test.each(["modern", "modern-http"])(
  "list changes and resource updates of a 2026-07-28 backend (%s) reach a modern client's listen stream on /mcp",
  async (backend) => {
    const client = new ModernClient({ name: "listener", version: "1" }, { capabilities: {}, versionNegotiation: { mode: { pin: VERSION } } });
    const notes: string[] = [];
    client.setNotificationHandler("notifications/tools/list_changed", async () => void notes.push("tools"));
    client.setNotificationHandler("notifications/resources/updated", async (n) => void notes.push(`updated ${n.params.uri}`));
    await client.connect(new ModernTransport(gw.mcpUrl()));
    try {
      const watched = `mcpgw://${backend}/modern://welcome`;
      const subscription = await client.listen({ toolsListChanged: true, resourceSubscriptions: [watched] });
      expect(subscription.honoredFilter).toEqual({ toolsListChanged: true, resourceSubscriptions: [watched] });
      // The gateway's own listen stream at the backend opens with the client's; give it a moment.
      await Bun.sleep(200);
      await client.callTool({ name: `${backend}__add_tool`, arguments: { name: `added_${Date.now()}` } });
      await client.callTool({ name: `${backend}__touch_resource`, arguments: { uri: "modern://welcome" } });
      await client.callTool({ name: `${backend}__touch_resource`, arguments: { uri: "modern://elsewhere" } });
      for (let i = 0; i < 100 && !(notes.includes("tools") && notes.includes(`updated ${watched}`)); i++) await Bun.sleep(20);
      expect(notes).toContain("tools");
      expect(notes).toContain(`updated ${watched}`);
      expect(notes.filter((n) => n.includes("elsewhere"))).toEqual([]);
      await subscription.close();
    } finally {
      await client.close();
    }
  },
);

test("a 2026-07-28 client on /mcp: a modern and a 2025 backend in one run, discover merged, list changes on its listen stream", async () => {
  const client = new ModernClient({ name: "aggregate", version: "1" }, { capabilities: {}, versionNegotiation: { mode: { pin: VERSION } } });
  const changed: unknown[] = [];
  client.setNotificationHandler("notifications/tools/list_changed", async (n) => void changed.push(n.params));
  await client.connect(new ModernTransport(gw.mcpUrl()));
  try {
    const capabilities = client.getServerCapabilities();
    expect(capabilities?.tools).toBeDefined();
    expect(capabilities?.prompts).toBeDefined();
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(["modern__echo", "modern-http__echo", "lab__echo"]));
    expect(texts(await client.callTool({ name: "modern__echo", arguments: { text: "m" } }))).toBe("modern: m");
    expect(texts(await client.callTool({ name: "lab__echo", arguments: { text: "l" } }))).toBe("lab: l");
    const subscription = await client.listen({ toolsListChanged: true });
    expect(subscription.honoredFilter).toEqual({ toolsListChanged: true });
    await client.callTool({ name: "lab__add-tool", arguments: { name: "late-arrival" } });
    for (let i = 0; i < 100 && changed.length === 0; i++) await Bun.sleep(20);
    expect(changed.length).toBeGreaterThan(0);
    await subscription.close();
  } finally {
    await client.close();
  }
});
