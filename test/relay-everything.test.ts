/**
 * The full MCP relay, end to end: the real SDK Client → the real gateway → the real
 * @modelcontextprotocol/server-everything, over stdio, over Streamable HTTP and over the legacy
 * HTTP+SSE transport. Each backend sits behind a spy that records what the gateway sent it (stdio:
 * test/fixtures/stdio-spy.ts; HTTP and SSE: a recording relay below), so cancellation can be checked at the backend.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import {
  type CallToolResult,
  type ClientCapabilities,
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  type LoggingMessageNotification,
  LoggingMessageNotificationSchema,
  type Progress,
  ResourceUpdatedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { REPO_ROOT } from "./helpers/cli.ts";
import { BUN, type TestGateway, everythingStdio, sessionTracker, startEverythingHttp, startTestGateway } from "./helpers/gateway.ts";
import type { StartedProcess } from "./helpers/process.ts";
import { recordingRelay } from "./helpers/recording-relay.ts";
import { tempDir } from "./helpers/temp-dir.ts";

type Message = Record<string, unknown> & { method?: string; id?: unknown; params?: Record<string, unknown> };

/** Polls until `check` holds (or fails the test after `ms`). */
async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await Bun.sleep(25);
  }
}

function texts(result: unknown): string {
  return ((result as CallToolResult).content ?? []).map((block) => (block.type === "text" ? block.text : "")).join("\n");
}

let gw: TestGateway;
let everythingHttp: StartedProcess;
let everythingSse: StartedProcess;
let relay: ReturnType<typeof recordingRelay>;
let relaySse: ReturnType<typeof recordingRelay>;
const spyDir = tempDir("mcpgw-relay-");
const spyLog = join(spyDir.path, "stdin.jsonl");

/** What the gateway sent each backend, in order. */
const sentTo: Record<string, () => Message[]> = {
  everything: () =>
    readFileSync(spyLog, "utf8")
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => JSON.parse(line) as Message),
  "everything-http": () => relay.posted() as Message[],
  "everything-sse": () => relaySse.posted() as Message[],
};

beforeAll(async () => {
  const http = await startEverythingHttp("streamableHttp");
  everythingHttp = http.server;
  relay = recordingRelay(`http://127.0.0.1:${http.port}`);
  const sse = await startEverythingHttp("sse");
  everythingSse = sse.server;
  relaySse = recordingRelay(`http://127.0.0.1:${sse.port}`);
  gw = await startTestGateway([
    { name: "everything", command: [BUN, join(REPO_ROOT, "test/fixtures/stdio-spy.ts"), ...everythingStdio()], env: { STDIO_SPY_LOG: spyLog } },
    { name: "everything-http", url: `${relay.origin}/mcp` },
    { name: "everything-sse", url: `${relaySse.origin}/sse`, transport: "sse" },
  ]);
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  relay?.stop();
  relaySse?.stop();
  everythingHttp?.kill();
  everythingSse?.kill();
  spyDir.remove();
});

const sessions = sessionTracker("relay-test");

/** A real SDK client on a gateway endpoint; `setup` registers handlers before initialize. */
function open(backend: string | undefined, capabilities: ClientCapabilities = {}, setup?: (client: Client) => void): Promise<Client> {
  return sessions.open(gw.mcpUrl(backend), capabilities, setup);
}

afterEach(() => sessions.endAll());

/** server-everything's toggle tools flip per-session state: call until the tool reports `want`. */
async function toggle(client: Client, tool: string, want: "Started" | "Stopped"): Promise<void> {
  for (let i = 0; i < 2; i++) {
    if (texts(await client.callTool({ name: tool, arguments: {} })).startsWith(want)) return;
  }
  throw new Error(`${tool} never reported ${want}`);
}

describe.each([
  { transport: "stdio", backend: "everything" },
  { transport: "Streamable HTTP", backend: "everything-http" },
  { transport: "legacy SSE", backend: "everything-sse" },
])("server-everything over $transport through /mcp/$backend", ({ backend }) => {
  test("tools/list shows its tools under their own names, and a call returns the tool's result", async () => {
    const client = await open(backend);
    const names = (await client.listTools()).tools.map((tool) => tool.name);
    expect(names).toEqual(
      expect.arrayContaining(["echo", "get-sum", "trigger-long-running-operation", "toggle-simulated-logging", "toggle-subscriber-updates"]),
    );
    // The client declared neither sampling nor elicitation, and the backend saw exactly that.
    expect(names).not.toContain("trigger-sampling-request");
    expect(names).not.toContain("trigger-elicitation-request");
    expect(texts(await client.callTool({ name: "echo", arguments: { message: "hello through mcpgw" } }))).toBe("Echo: hello through mcpgw");
    expect(texts(await client.callTool({ name: "get-sum", arguments: { a: 19, b: 23 } }))).toContain("42");
  });

  test("progress of a long-running tool reaches the client under the client's own token", async () => {
    const client = await open(backend);
    const progress: Progress[] = [];
    // The SDK client routes a progress notification to onprogress only when it carries the token it minted.
    const result = await client.callTool({ name: "trigger-long-running-operation", arguments: { duration: 1, steps: 4 } }, undefined, {
      onprogress: (p) => progress.push(p),
    });
    expect(texts(result)).toContain("Long running operation completed");
    expect(progress.map((p) => [p.progress, p.total])).toEqual([
      [1, 4],
      [2, 4],
      [3, 4],
      [4, 4],
    ]);
  });

  test("a sampling request from the tool is answered by the client", async () => {
    const prompts: string[] = [];
    const client = await open(backend, { sampling: {} }, (c) =>
      c.setRequestHandler(CreateMessageRequestSchema, async (request) => {
        const first = request.params.messages[0]?.content;
        prompts.push(first && "text" in first ? String(first.text) : "");
        return { model: "relay-test-model", role: "assistant", content: { type: "text", text: "sampled-by-the-relay-test-7f3a" } };
      }),
    );
    expect((await client.listTools()).tools.map((tool) => tool.name)).toContain("trigger-sampling-request");
    const result = await client.callTool({ name: "trigger-sampling-request", arguments: { prompt: "what is two plus two?", maxTokens: 20 } });
    expect(prompts).toEqual([expect.stringContaining("what is two plus two?")]);
    expect(texts(result)).toContain("sampled-by-the-relay-test-7f3a");
    expect(texts(result)).toContain("relay-test-model");
  });

  test("an elicitation from the tool is answered by the client", async () => {
    const messages: string[] = [];
    const client = await open(backend, { elicitation: {} }, (c) =>
      c.setRequestHandler(ElicitRequestSchema, async (request) => {
        messages.push(request.params.message);
        return { action: "accept", content: { name: "Ada Lovelace", check: true, integer: 7 } };
      }),
    );
    expect((await client.listTools()).tools.map((tool) => tool.name)).toContain("trigger-elicitation-request");
    const result = texts(await client.callTool({ name: "trigger-elicitation-request", arguments: {} }));
    expect(messages).toEqual(["Please provide inputs for the following fields:"]);
    expect(result).toContain("User provided the requested information");
    expect(result).toContain("- Name: Ada Lovelace");
    expect(result).toContain("- Agreed to terms: true");
    expect(result).toContain("- Favorite Integer: 7");
  });

  test("resources: list, read a static one, read a templated one", async () => {
    const client = await open(backend);
    const uri = "demo://resource/static/document/instructions.md";
    expect((await client.listResources()).resources.map((r) => r.uri)).toContain(uri);
    const read = await client.readResource({ uri });
    expect(read.contents).toEqual([expect.objectContaining({ uri, mimeType: "text/markdown", text: expect.any(String) })]);
    expect((read.contents[0] as { text: string }).text.length).toBeGreaterThan(0);
    const templates = (await client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate);
    expect(templates).toContain("demo://resource/dynamic/text/{resourceId}");
    const dynamic = await client.readResource({ uri: "demo://resource/dynamic/text/7" });
    expect(dynamic.contents[0]).toMatchObject({ uri: "demo://resource/dynamic/text/7", text: expect.stringContaining("Resource 7:") });
  });

  test("a subscribed resource's updates reach the subscriber", async () => {
    const updates: string[] = [];
    const client = await open(backend, {}, (c) => c.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push(n.params.uri)));
    const uri = "demo://resource/dynamic/text/42";
    await client.subscribeResource({ uri });
    try {
      // Starting the simulated updates sends one at once, then one every 5 s.
      await toggle(client, "toggle-subscriber-updates", "Started");
      await until(() => updates.includes(uri), `notifications/resources/updated for ${uri}`);
    } finally {
      await toggle(client, "toggle-subscriber-updates", "Stopped");
      await client.unsubscribeResource({ uri });
    }
    expect(new Set(updates)).toEqual(new Set([uri]));
  });

  test("two sessions on one shared connection subscribe to a resource; one unsubscribing leaves the other its updates", async () => {
    const updates: string[] = [];
    // Neither declares sampling/elicitation/roots: both share one backend connection (one backend subscription).
    const leaver = await open(backend);
    const stayer = await open(backend, {}, (c) => c.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push(n.params.uri)));
    const uri = "demo://resource/dynamic/text/77";
    await leaver.subscribeResource({ uri });
    await stayer.subscribeResource({ uri });
    await leaver.unsubscribeResource({ uri });
    try {
      await toggle(stayer, "toggle-subscriber-updates", "Started");
      await until(() => updates.includes(uri), `notifications/resources/updated for ${uri} after the other session unsubscribed`);
    } finally {
      await toggle(stayer, "toggle-subscriber-updates", "Stopped");
      await stayer.unsubscribeResource({ uri });
    }
  });

  test("prompts: list, and get with arguments", async () => {
    const client = await open(backend);
    const names = (await client.listPrompts()).prompts.map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(["simple-prompt", "args-prompt", "completable-prompt", "resource-prompt"]));
    const prompt = await client.getPrompt({ name: "args-prompt", arguments: { city: "Lisbon", state: "Estremadura" } });
    expect(prompt.messages).toEqual([{ role: "user", content: { type: "text", text: "What's weather in Lisbon, Estremadura?" } }]);
  });

  test("completion of a completable prompt's arguments, with context", async () => {
    const client = await open(backend);
    const ref = { type: "ref/prompt" as const, name: "completable-prompt" };
    const department = await client.complete({ ref, argument: { name: "department", value: "Sa" } });
    expect(department.completion.values).toEqual(["Sales"]);
    const member = await client.complete({ ref, argument: { name: "name", value: "" }, context: { arguments: { department: "Engineering" } } });
    expect(member.completion.values).toEqual(["Alice", "Bob", "Charlie"]);
  });

  test("logging: messages arrive after setLevel, and severities below the level are filtered", async () => {
    const messages: LoggingMessageNotification["params"][] = [];
    const client = await open(backend, {}, (c) => c.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void messages.push(n.params)));
    const acknowledged = (uri: string) => messages.some((m) => m.level === "info" && String(m.data).includes(`URI: ${uri}`));
    const first = "demo://resource/dynamic/text/101";
    const second = "demo://resource/dynamic/text/102";
    try {
      await client.setLoggingLevel("debug");
      // Simulated logging sends one message (of a random level) at once, then one every 5 s.
      await toggle(client, "toggle-simulated-logging", "Started");
      await until(() => messages.length > 0, "a simulated log message");
      await toggle(client, "toggle-simulated-logging", "Stopped");

      // server-everything acknowledges each subscribe with an info-level message: a deterministic probe.
      await client.setLoggingLevel("info");
      await client.subscribeResource({ uri: first });
      await until(() => acknowledged(first), `the info-level acknowledgement of ${first}`);

      await client.setLoggingLevel("emergency");
      messages.length = 0;
      await client.subscribeResource({ uri: second });
      await client.callTool({ name: "echo", arguments: { message: "round trip" } });
      await Bun.sleep(500);
      expect(acknowledged(second)).toBe(false);
      expect(messages.filter((m) => m.level !== "emergency")).toEqual([]);
    } finally {
      await client.unsubscribeResource({ uri: first });
      await client.unsubscribeResource({ uri: second });
    }
  });

  test("logging levels are per session: on a shared backend connection each client gets only what it asked for", async () => {
    const chatty: LoggingMessageNotification["params"][] = [];
    const quiet: LoggingMessageNotification["params"][] = [];
    // Neither client declares sampling/elicitation/roots, so both share one backend connection.
    const a = await open(backend, {}, (c) => c.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void chatty.push(n.params)));
    const b = await open(backend, {}, (c) => c.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void quiet.push(n.params)));
    await b.setLoggingLevel("emergency");
    await a.setLoggingLevel("debug");
    const uri = "demo://resource/dynamic/text/201";
    try {
      await a.subscribeResource({ uri });
      await until(() => chatty.some((m) => m.level === "info" && String(m.data).includes(uri)), `a's info-level acknowledgement of ${uri}`);
      await b.callTool({ name: "echo", arguments: { message: "round trip" } });
      await Bun.sleep(300);
      expect(quiet.filter((m) => m.level !== "emergency")).toEqual([]);
    } finally {
      await a.unsubscribeResource({ uri });
    }
  });

  test("cancelling a call sends notifications/cancelled with the gateway's request id to the backend", async () => {
    const client = await open(backend);
    const controller = new AbortController();
    // A duration no other test uses identifies this call among everything the backend received.
    const call = client.callTool({ name: "trigger-long-running-operation", arguments: { duration: 27, steps: 27 } }, undefined, {
      signal: controller.signal,
      onprogress: () => controller.abort("the relay test gave up"),
    });
    // SDK 1.32 rejects an aborted request with McpError(-32001) carrying the abort reason.
    await expect(call).rejects.toThrow("the relay test gave up");

    const isOurCall = (m: Message) => m.method === "tools/call" && (m.params?.arguments as { duration?: number } | undefined)?.duration === 27;
    let cancelled: Message | undefined;
    await until(() => {
      const sent = sentTo[backend]!();
      const at = sent.findLastIndex(isOurCall);
      cancelled = at < 0 ? undefined : sent.slice(at + 1).find((m) => m.method === "notifications/cancelled" && m.params?.requestId === sent[at]!.id);
      return cancelled !== undefined;
    }, "notifications/cancelled at the backend");
    expect(cancelled?.params?.reason).toBe("the relay test gave up");

    // The session and the backend connection are still good.
    expect(texts(await client.callTool({ name: "echo", arguments: { message: "still here" } }))).toBe("Echo: still here");
  });
});

describe("the aggregated endpoint /mcp over the three transports", () => {
  test("names carry their backend, and a call is routed to the backend it names", async () => {
    const client = await open(undefined);
    const names = (await client.listTools()).tools.map((tool) => tool.name);
    expect(names).toEqual(
      expect.arrayContaining([
        "everything__echo",
        "everything-http__echo",
        "everything-sse__echo",
        "everything__get-sum",
        "everything-http__trigger-long-running-operation",
      ]),
    );
    expect(names.filter((name) => !/^(everything|everything-http|everything-sse)__/.test(name))).toEqual([]);
    expect(texts(await client.callTool({ name: "everything-http__echo", arguments: { message: "via http" } }))).toBe("Echo: via http");
    expect(texts(await client.callTool({ name: "everything__echo", arguments: { message: "via stdio" } }))).toBe("Echo: via stdio");
    expect(texts(await client.callTool({ name: "everything-sse__echo", arguments: { message: "via sse" } }))).toBe("Echo: via sse");
    // Each call landed on the backend its name chose, under the backend's own tool name.
    const lastEcho = (backend: string) => sentTo[backend]!().findLast((m) => m.method === "tools/call" && m.params?.name === "echo");
    expect(lastEcho("everything-http")?.params?.arguments).toEqual({ message: "via http" });
    expect(lastEcho("everything")?.params?.arguments).toEqual({ message: "via stdio" });
    expect(lastEcho("everything-sse")?.params?.arguments).toEqual({ message: "via sse" });
  });
});
