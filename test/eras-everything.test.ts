import { join } from "node:path";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { REPO_ROOT } from "./helpers/cli.ts";
import { BUN, NODE_MODULES, type TestGateway, everythingStdio, startTestGateway } from "./helpers/gateway.ts";
import { type StartedProcess, freePort, startProcess } from "./helpers/process.ts";

/**
 * A v2 SDK client pinned to 2026-07-28 drives @modelcontextprotocol/server-everything (a 2025-era
 * server) through the gateway, over stdio and over Streamable HTTP (issue 14, acceptance 2):
 * tools, resources, prompts, completion, progress, cancellation, and the bridge that turns the
 * backend's sampling and elicitation requests into input_required rounds.
 */
const VERSION = "2026-07-28";

let gw: TestGateway;
let everythingHttp: StartedProcess;

beforeAll(async () => {
  const port = await freePort();
  everythingHttp = await startProcess(
    ["node", join(NODE_MODULES, "@modelcontextprotocol/server-everything/dist/index.js"), "streamableHttp"],
    /listening on port/,
    { PORT: String(port) },
  );
  gw = await startTestGateway([
    { name: "everything", command: everythingStdio() },
    { name: "everything-http", url: `http://127.0.0.1:${port}/mcp` },
    { name: "lab", command: [BUN, join(REPO_ROOT, "test/fixtures/lab-server.ts"), "--stdio"], env: { LAB_NAME: "lab" } },
  ]);
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  everythingHttp?.kill();
});

async function modernClient(backend: string, capabilities: Record<string, unknown> = {}, setup?: (client: Client) => void): Promise<Client> {
  const client = new Client({ name: "eras-test", version: "1.0.0" }, { capabilities, versionNegotiation: { mode: { pin: VERSION } } });
  setup?.(client);
  await client.connect(new StreamableHTTPClientTransport(gw.mcpUrl(backend)));
  return client;
}

function texts(result: { content?: unknown }): string {
  return ((result.content ?? []) as { type: string; text?: string }[]).map((block) => block.text ?? "").join("\n");
}

describe.each(["everything", "everything-http"])("a 2026-07-28 client through the gateway to server-everything (%s)", (backend) => {
  test("tools, resources, prompts and completion", async () => {
    const client = await modernClient(backend);
    try {
      expect(client.getProtocolEra()).toBe("modern");
      expect(texts(await client.callTool({ name: "echo", arguments: { message: "modern" } }))).toBe("Echo: modern");
      expect(texts(await client.callTool({ name: "get-sum", arguments: { a: 2, b: 3 } }))).toContain("5");
      const resources = await client.listResources();
      expect(resources.resources.length).toBeGreaterThan(0);
      const first = resources.resources[0]!;
      const read = await client.readResource({ uri: first.uri });
      expect(read.contents[0]?.uri).toBe(first.uri);
      const prompt = await client.getPrompt({ name: "args-prompt", arguments: { city: "Paris" } });
      expect(JSON.stringify(prompt.messages)).toContain("Paris");
      const completion = await client.complete({ ref: { type: "ref/prompt", name: "completable-prompt" }, argument: { name: "department", value: "E" } });
      expect(completion.completion.values).toContain("Engineering");
    } finally {
      await client.close();
    }
  });

  test("progress arrives under the client's own token", async () => {
    const client = await modernClient(backend);
    try {
      const seen: number[] = [];
      const result = await client.callTool(
        { name: "trigger-long-running-operation", arguments: { duration: 0.3, steps: 3 } },
        { onprogress: (p) => seen.push(p.progress) },
      );
      expect(seen).toEqual([1, 2, 3]);
      expect(texts(result)).toContain("completed");
    } finally {
      await client.close();
    }
  });

  test("sampling and elicitation: the backend's requests come back as input_required and the client's answers reach it", async () => {
    const asked: string[] = [];
    const client = await modernClient(backend, { sampling: {}, elicitation: { form: {} } }, (c) => {
      c.setRequestHandler("sampling/createMessage", async () => {
        asked.push("sampling");
        return { role: "assistant", model: "fake-llm", content: { type: "text", text: "a sampled answer" } };
      });
      c.setRequestHandler("elicitation/create", async () => {
        asked.push("elicitation");
        return { action: "accept", content: { name: "Grace", color: "green" } };
      });
    });
    try {
      expect(texts(await client.callTool({ name: "trigger-sampling-request", arguments: { prompt: "hello", maxTokens: 20 } }))).toContain("a sampled answer");
      expect(texts(await client.callTool({ name: "trigger-elicitation-request", arguments: {} }))).toContain("Name: Grace");
      expect(asked).toEqual(["sampling", "elicitation"]);
    } finally {
      await client.close();
    }
  });
});

test("cancellation: a modern client that aborts its call cancels it at the backend", async () => {
  const client = await modernClient("lab");
  try {
    const controller = new AbortController();
    const call = client.callTool({ name: "sleep", arguments: { ms: 5_000 } }, { signal: controller.signal });
    await Bun.sleep(200);
    controller.abort();
    await expect(call).rejects.toThrow();
    let cancelled: unknown[] = [];
    for (let i = 0; i < 50 && cancelled.length === 0; i++) {
      await Bun.sleep(20);
      cancelled = ((await client.callTool({ name: "cancelled-requests", arguments: {} })).structuredContent as { ids: unknown[] }).ids;
    }
    expect(cancelled).toHaveLength(1);
  } finally {
    await client.close();
  }
});
