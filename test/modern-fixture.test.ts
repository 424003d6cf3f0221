/**
 * The 2026-07-28-only fixture (test/fixtures/modern-server.ts) on its own, without the gateway: a v2
 * client pinned to 2026-07-28 uses every gateway-test tool over HTTP and stdio, a 2025 `initialize` is
 * refused, and the 2026-07-28 conformance suite passes against it.
 */
import { join } from "node:path";
import { Client, type ElicitResult, StreamableHTTPClientTransport, type Transport } from "@modelcontextprotocol/client";
import { StdioClientTransport, getDefaultEnvironment } from "@modelcontextprotocol/client/stdio";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { REPO_ROOT } from "./helpers/cli.ts";
import { runConformance2026 } from "./helpers/conformance-2026.ts";
import { BUN } from "./helpers/gateway.ts";
import { type StartedProcess, startProcess } from "./helpers/process.ts";

const MODERN = "2026-07-28";
const FIXTURE = join(REPO_ROOT, "test/fixtures/modern-server.ts");
const SUBSCRIPTION_ID = "io.modelcontextprotocol/subscriptionId";

/** Resolves with what `probe` returns once it is defined, polling every 10 ms. */
async function until<T>(probe: () => T | undefined, what: string, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await Bun.sleep(10);
  }
}

interface ModernClient {
  client: Client;
  /** Messages of the elicitations the client answered. */
  elicited: string[];
  /** Notifications that arrived, with their params. */
  notifications: Array<{ method: string; params?: Record<string, unknown> }>;
}

/** A v2 client pinned to 2026-07-28 that answers elicitation ("Ada") and sampling (model fake-llm-1). */
async function connectPinned(transport: Transport): Promise<ModernClient> {
  const client = new Client(
    { name: "modern-fixture-test", version: "1.0.0" },
    { capabilities: { elicitation: { form: {} }, sampling: {} }, versionNegotiation: { mode: { pin: MODERN } } },
  );
  const elicited: string[] = [];
  const notifications: ModernClient["notifications"] = [];
  client.setRequestHandler("elicitation/create", async (request): Promise<ElicitResult> => {
    elicited.push(request.params.message);
    return { action: "accept", content: { name: "Ada" } };
  });
  client.setRequestHandler("sampling/createMessage", async (request) => {
    const asked = request.params.messages[0]?.content;
    const said = asked && !Array.isArray(asked) && asked.type === "text" ? asked.text : "?";
    return { role: "assistant", model: "fake-llm-1", content: { type: "text", text: `short(${said})` }, stopReason: "endTurn" };
  });
  for (const method of ["notifications/tools/list_changed", "notifications/resources/updated"] as const) {
    client.setNotificationHandler(method, async (notification) => void notifications.push({ method, params: notification.params }));
  }
  await client.connect(transport);
  return { client, elicited, notifications };
}

const textOf = (result: { content?: unknown }) => (result.content as Array<{ type: string; text?: string }>).map((c) => c.text).join("\n");

let http: StartedProcess;
let httpUrl: URL;

beforeAll(async () => {
  http = await startProcess([BUN, FIXTURE, "--port", "0"], /listening on (\S+)/, { MODERN_NAME: "m-http" });
  httpUrl = new URL(/listening on (\S+)/.exec(http.output())?.[1] ?? "");
});

afterAll(() => http?.kill());

describe.each([
  { transport: "http", label: "m-http" },
  { transport: "stdio", label: "m-stdio" },
])("a v2 client pinned to 2026-07-28 over $transport", ({ transport, label }) => {
  let modern: ModernClient;
  /** The fixture's stderr (the HTTP fixture's whole output). */
  let stderr: () => string;

  beforeAll(async () => {
    if (transport === "http") {
      modern = await connectPinned(new StreamableHTTPClientTransport(httpUrl));
      stderr = () => http.output();
    } else {
      const env = { ...getDefaultEnvironment(), MODERN_NAME: label };
      const stdio = new StdioClientTransport({ command: BUN, args: [FIXTURE, "--stdio"], env, stderr: "pipe" });
      let collected = "";
      stdio.stderr?.on("data", (chunk: Buffer) => void (collected += chunk.toString()));
      stderr = () => collected;
      modern = await connectPinned(stdio);
    }
  });

  afterAll(() => modern?.client.close());

  test("connects on 2026-07-28 without a handshake", () => {
    expect(modern.client.getProtocolEra()).toBe("modern");
    expect(modern.client.getNegotiatedProtocolVersion()).toBe(MODERN);
    expect(modern.client.getServerVersion()?.name).toBe(`modern-${label}`);
  });

  test("echo answers with the label, as text and structured content", async () => {
    const result = await modern.client.callTool({ name: "echo", arguments: { text: "hi" } });
    expect(textOf(result)).toBe(`${label}: hi`);
    expect(result.structuredContent).toEqual({ text: "hi", label });
  });

  test("ask_name elicits the name through input_required", async () => {
    const result = await modern.client.callTool({ name: "ask_name", arguments: {} });
    expect(textOf(result)).toBe("Hello, Ada!");
    expect(modern.elicited).toContain("What is your name?");
  });

  test("summarize samples the client's model and hands out a signed requestState", async () => {
    const result = await modern.client.callTool({ name: "summarize", arguments: { text: "MCP" } });
    expect(textOf(result)).toBe("summary(fake-llm-1): short(Summarize: MCP)");

    const first = (await modern.client.callTool({ name: "summarize", arguments: { text: "MCP" } }, { allowInputRequired: true })) as unknown as {
      resultType: string;
      requestState: string;
    };
    expect(first.resultType).toBe("input_required");
    const answer = { role: "assistant", model: "m", content: { type: "text", text: "s" } };
    const retry = (text: string, requestState: string) => {
      // callTool's params type has no inputResponses or requestState (the client runs the rounds itself), yet both are sent.
      const params = { name: "summarize", arguments: { text }, inputResponses: { summary: answer }, requestState };
      return modern.client.callTool(params);
    };
    expect(textOf(await retry("MCP", first.requestState))).toBe("summary(m): s");
    // A forged state fails the HMAC; a genuine one minted for other arguments is refused by the tool.
    await expect(retry("MCP", `${first.requestState.slice(0, -2)}xx`)).rejects.toMatchObject({ code: -32602 });
    const foreign = await retry("other text", first.requestState);
    expect(foreign.isError).toBe(true);
    expect(textOf(foreign)).toBe(`${label}: requestState does not belong to this call`);
  });

  test("slow_count reports progress step by step", async () => {
    const progress: number[] = [];
    const result = await modern.client.callTool({ name: "slow_count", arguments: { n: 3 } }, { onprogress: (p) => void progress.push(p.progress) });
    expect(progress).toEqual([1, 2, 3]);
    expect(textOf(result)).toBe(`${label}: counted to 3`);
  });

  test("a cancelled sleep is abandoned and printed on stderr", async () => {
    const before = stderr().match(/cancelled \S+/g)?.length ?? 0;
    const abort = new AbortController();
    const call = modern.client.callTool({ name: "sleep", arguments: { ms: 20_000 } }, { signal: abort.signal });
    await Bun.sleep(200);
    abort.abort("test cancels");
    await expect(call).rejects.toThrow();
    await until(() => ((stderr().match(/cancelled \S+/g)?.length ?? 0) > before ? true : undefined), "the fixture to print the cancellation");
  });

  test("reads modern://welcome, and modern://whoami through input_required", async () => {
    const welcome = await modern.client.readResource({ uri: "modern://welcome" });
    expect(welcome.contents).toEqual([{ uri: "modern://welcome", mimeType: "text/plain", text: `welcome from ${label}` }]);
    const whoami = await modern.client.readResource({ uri: "modern://whoami" });
    expect(whoami.contents[0]).toMatchObject({ text: `${label} knows you as Ada` });
    expect(modern.elicited).toContain("Who is reading?");
  });

  test("gets the modern_greeting prompt and completes its who argument", async () => {
    const prompt = await modern.client.getPrompt({ name: "modern_greeting", arguments: { who: "bob" } });
    expect(prompt.messages).toEqual([{ role: "user", content: { type: "text", text: `hello bob, from ${label}` } }]);
    const ref = { type: "ref/prompt" as const, name: "modern_greeting" };
    expect((await modern.client.complete({ ref, argument: { name: "who", value: "c" } })).completion.values).toEqual(["carol"]);
    expect((await modern.client.complete({ ref, argument: { name: "who", value: "" } })).completion.values).toEqual(["alice", "bob", "carol"]);
  });

  test("a listen stream carries tools/list_changed after add_tool and resources/updated after touch_resource", async () => {
    const subscription = await modern.client.listen({ toolsListChanged: true, resourceSubscriptions: ["modern://welcome"] });
    try {
      const seen = modern.notifications.length;
      // Only a notification stamped with a subscription id came on the listen stream.
      const fromListen = (method: string) => () =>
        modern.notifications.slice(seen).find((n) => n.method === method && (n.params?._meta as Record<string, unknown> | undefined)?.[SUBSCRIPTION_ID]);

      expect(textOf(await modern.client.callTool({ name: "add_tool", arguments: { name: "late_tool" } }))).toBe(`${label}: added late_tool`);
      await until(fromListen("notifications/tools/list_changed"), "tools/list_changed on the listen stream");
      expect((await modern.client.listTools()).tools.map((t) => t.name)).toContain("late_tool");
      expect(textOf(await modern.client.callTool({ name: "late_tool", arguments: {} }))).toBe(`${label}: late_tool`);

      await modern.client.callTool({ name: "touch_resource", arguments: { uri: "modern://welcome" } });
      const updated = await until(fromListen("notifications/resources/updated"), "resources/updated on the listen stream");
      expect(updated.params?.uri).toBe("modern://welcome");
      // One change, one notification: the stdio instance must not announce the added tool twice.
      expect(modern.notifications.slice(seen).filter((n) => n.method === "notifications/tools/list_changed")).toHaveLength(1);
    } finally {
      await subscription.close();
    }
  });
});

describe("a 2025-era client", () => {
  const initialize = {
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "old", version: "1" } },
  };

  test("gets a 4xx and -32022 naming 2026-07-28 for initialize over HTTP", async () => {
    const response = await fetch(httpUrl, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify(initialize),
    });
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    const body = (await response.json()) as { error?: { code: number; data?: { supported?: string[] } } };
    expect(body.error?.code).toBe(-32022);
    expect(body.error?.data?.supported).toEqual([MODERN]);
  });

  test("gets -32022 naming 2026-07-28 for initialize over stdio", async () => {
    const child = Bun.spawn([BUN, FIXTURE, "--stdio"], { stdin: "pipe", stdout: "pipe", stderr: "ignore" });
    try {
      child.stdin.write(`${JSON.stringify(initialize)}\n`);
      await child.stdin.flush();
      const reader = child.stdout.getReader();
      let line = "";
      while (!line.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) break;
        line += new TextDecoder().decode(value);
      }
      const reply = JSON.parse(line) as { id: number; error?: { code: number; data?: { supported?: string[] } } };
      expect(reply).toMatchObject({ id: 1, error: { code: -32022, data: { supported: [MODERN] } } });
    } finally {
      child.kill();
    }
  });
});

describe("the 2026-07-28 conformance suite against the fixture over HTTP", () => {
  test("passes every required scenario, and fails no check", async () => {
    const run = await runConformance2026(httpUrl.href);
    console.log(run.summary);
    expect(run.required.length, "the requirements file lists the server scenarios").toBeGreaterThan(30);
    expect(
      run.required.filter((name) => !run.requiredPassed.includes(name)),
      run.output,
    ).toEqual([]);
    expect(run.failedChecks, run.output).toEqual([]);
    expect(run.totalFailed, run.output).toBe(0);
    expect(run.exitCode, run.output).toBe(0);
  }, 60_000);
});
