import { join } from "node:path";
import type { ClientCapabilities, Notification, Progress } from "@modelcontextprotocol/sdk/types.js";
// The gateway's own McpError (src/protocol/mcp-values.ts), which its backend connections throw.
import { McpError } from "../src/protocol/mcp-values.ts";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { BackendConnection } from "../src/backends/backend-connection.ts";
import { openBackendLink } from "../src/backends/backend-link.ts";
import type { BackendSpec } from "../src/backends/backend-spec.ts";
import { MODERN_INSTRUCTIONS, MODERN_SERVER_INFO, modernHttpHandler } from "./backend-era-modern-stdio.ts";
import { REPO_ROOT } from "./helpers/cli.ts";
import { BUN, NODE_MODULES, backendSpec } from "./helpers/gateway.ts";
import { type StartedProcess, freePort, startProcess } from "./helpers/process.ts";

/**
 * Era detection against real servers: a 2026-07-28-only one (SDK v2, `legacy: "reject"`) over
 * stdio and Streamable HTTP, and 2025-era ones (server-everything, the lab fixture) that must go
 * on working as before, with little added to their connect time.
 */

const MODERN_SERVER = join(REPO_ROOT, "test/backend-era-modern-stdio.ts");
const LAB_SERVER = join(REPO_ROOT, "test/fixtures/lab-server.ts");
const EVERYTHING = join(NODE_MODULES, "@modelcontextprotocol/server-everything/dist/index.js");
const ENV = { PATH: process.env.PATH, HOME: process.env.HOME };
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });

type ToolResult = { content?: { type: string; text?: string }[]; structuredContent?: Record<string, unknown>; resultType?: string; [key: string]: unknown };

function connection(spec: BackendSpec, notifications: Notification[] = [], capabilities: ClientCapabilities = {}): BackendConnection {
  return new BackendConnection(spec, {
    capabilities,
    clientInfo: { name: "mcpgw", version: "9.9.9-test" },
    env: ENV,
    logger,
    listener: {
      onRequest: async () => {
        throw new McpError(-32601, "no requests in this test");
      },
      onNotification: (notification) => void notifications.push(notification),
    },
  });
}

/** Connects, printing and returning how long it took. */
async function timedConnect(label: string, backend: BackendConnection): Promise<number> {
  const started = performance.now();
  await backend.connect();
  const ms = Math.round(performance.now() - started);
  console.log(`[era] ${label}: connected in ${ms} ms, era ${backend.era}, protocol ${backend.protocolVersion}`);
  return ms;
}

function callTool(
  backend: BackendConnection,
  name: string,
  args: Record<string, unknown>,
  options: Parameters<BackendConnection["request"]>[1] = {},
  meta?: Record<string, unknown>,
) {
  return backend.request({ method: "tools/call", params: { name, arguments: args, ...(meta && { _meta: meta }) } }, options) as Promise<ToolResult>;
}

/** The contract every modern backend connection keeps, whatever its transport. */
function modernContract(label: string, spec: () => BackendSpec, headersSeen?: () => Headers[]): void {
  describe(`a 2026-07-28-only backend over ${label}`, () => {
    let backend: BackendConnection;
    const notifications: Notification[] = [];

    beforeAll(async () => {
      backend = connection(spec(), notifications);
      await timedConnect(`modern ${label}`, backend);
    });
    afterAll(() => backend.close());

    test("is detected modern, and discover fills capabilities, serverInfo and instructions", () => {
      expect(backend.era).toBe("modern");
      expect(backend.protocolVersion).toBe("2026-07-28");
      expect(backend.serverInfo).toEqual(MODERN_SERVER_INFO);
      expect(backend.instructions).toBe(MODERN_INSTRUCTIONS);
      expect(backend.serverCapabilities.tools).toBeDefined();
    });

    test("tools/list works, its result handed on as the backend sent it", async () => {
      const listed = (await backend.request({ method: "tools/list", params: {} })) as { tools: { name: string }[]; resultType?: string; ttlMs?: number };
      expect(listed.tools.map((tool) => tool.name).sort()).toEqual(["ask", "cancellations", "count", "echo", "wait"]);
      expect(listed.resultType).toBe("complete");
      expect(listed.ttlMs).toBeTypeOf("number");
    });

    test("tools/call carries the envelope and keeps the caller's other _meta keys", async () => {
      const result = await callTool(
        backend,
        "echo",
        { text: "hi" },
        {},
        { "com.example/trace": "t-1", traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" },
      );
      expect(result.content?.[0]?.text).toBe("echo: hi");
      expect(result.resultType).toBe("complete");
      const { envelope, meta } = result.structuredContent as { envelope: Record<string, unknown>; meta: Record<string, unknown> };
      expect(envelope).toEqual({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": { name: "mcpgw", version: "9.9.9-test" },
      });
      expect(meta).toMatchObject({ "com.example/trace": "t-1", traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" });
      if (headersSeen) {
        const call = headersSeen().find((headers) => headers.get("mcp-method") === "tools/call" && headers.get("mcp-name") === "echo");
        expect(call?.get("mcp-protocol-version")).toBe("2026-07-28");
        expect(call?.get("x-api-key")).toBe("k-123");
        expect(call?.get("accept")).toBe("application/json, text/event-stream");
      }
    });

    test("a request's own clientCapabilities replace the connection's; an input_required result is handed on", async () => {
      // Without elicitation the server may not ask: a modern error, -32021.
      const refused = await callTool(backend, "ask", {}).catch((err: unknown) => err);
      expect((refused as McpError).code).toBe(-32021);
      const asked = await callTool(backend, "ask", {}, { clientCapabilities: { elicitation: { form: {} } } });
      expect(asked.resultType).toBe("input_required");
      expect(asked.inputRequests).toMatchObject({ who: { method: "elicitation/create" } });
    });

    test("progress reaches the caller", async () => {
      const progress: Progress[] = [];
      const result = await callTool(backend, "count", { n: 3 }, { onprogress: (p) => progress.push(p) });
      expect(result.content?.[0]?.text).toBe("counted to 3");
      expect(progress.map((p) => [p.progress, p.total, p.message])).toEqual([
        [1, 3, "step 1"],
        [2, 3, "step 2"],
        [3, 3, "step 3"],
      ]);
    });

    test("a cancelled call is cancelled at the server, and the connection goes on", async () => {
      const before = (await callTool(backend, "cancellations", {})).structuredContent as { cancelled: unknown[] };
      const controller = new AbortController();
      const waiting = callTool(backend, "wait", { ms: 10_000 }, { signal: controller.signal });
      await Bun.sleep(300);
      controller.abort(new Error("caller went away"));
      await expect(waiting).rejects.toBeInstanceOf(McpError);
      let after = before;
      for (let i = 0; i < 50 && after.cancelled.length === before.cancelled.length; i++) {
        await Bun.sleep(20);
        after = (await callTool(backend, "cancellations", {})).structuredContent as { cancelled: unknown[] };
      }
      expect(after.cancelled.length).toBe(before.cancelled.length + 1);
      expect((await callTool(backend, "echo", { text: "still here" })).content?.[0]?.text).toBe("echo: still here");
    });

    test("concurrent calls each get their own answer", async () => {
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => callTool(backend, "echo", { text: `n${i}` })));
      expect(results.map((r) => r.content?.[0]?.text)).toEqual(Array.from({ length: 20 }, (_, i) => `echo: n${i}`));
    });
  });
}

modernContract("stdio", () => backendSpec({ name: "modern", command: [BUN, MODERN_SERVER], timeoutMs: 10_000 }));

let modernHttp: { url: string; headers: Headers[]; stop(): Promise<void> };
/** Requests whose server/discover the HTTP server delays (to outlast the probe wait). */
let slowDiscoversLeft = 0;

beforeAll(() => {
  const handler = modernHttpHandler();
  const headers: Headers[] = [];
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    async fetch(request) {
      headers.push(request.headers);
      if (request.headers.get("mcp-method") === "server/discover" && slowDiscoversLeft > 0) {
        slowDiscoversLeft -= 1;
        await Bun.sleep(1_500);
      }
      return handler.fetch(request);
    },
  });
  modernHttp = { url: `${server.url}mcp`, headers, stop: async () => (await handler.close(), server.stop(true)) };
});
afterAll(() => modernHttp.stop());

modernContract(
  "Streamable HTTP",
  () => backendSpec({ name: "modern-http", url: modernHttp.url, headers: { "X-Api-Key": "k-123" }, timeoutMs: 10_000 }),
  () => modernHttp.headers,
);

describe("modern backends slower than the probe wait", () => {
  test("stdio: the initialize the modern server refuses turns the connection modern, on the same process", async () => {
    const backend = connection(backendSpec({ name: "slow-modern", command: [BUN, MODERN_SERVER], env: { ERA_START_DELAY_MS: "1500" }, timeoutMs: 10_000 }));
    try {
      const ms = await timedConnect("modern stdio, starting in 1.5 s", backend);
      expect(backend.era).toBe("modern");
      expect(backend.serverInfo).toEqual(MODERN_SERVER_INFO);
      expect(ms).toBeLessThan(3_000); // one start (1.5 s), not two
      expect((await callTool(backend, "echo", { text: "late" })).content?.[0]?.text).toBe("echo: late");
    } finally {
      await backend.close();
    }
  });

  test("HTTP: a discover slower than the probe wait, then an initialize refused with -32022, still ends modern", async () => {
    slowDiscoversLeft = 1;
    const backend = connection(backendSpec({ name: "slow-modern-http", url: modernHttp.url, timeoutMs: 10_000 }));
    try {
      await timedConnect("modern HTTP, discover slow once", backend);
      expect(backend.era).toBe("modern");
      expect(backend.instructions).toBe(MODERN_INSTRUCTIONS);
      expect((await callTool(backend, "echo", { text: "x" })).content?.[0]?.text).toBe("echo: x");
    } finally {
      slowDiscoversLeft = 0;
      await backend.close();
    }
  });
});

describe("2025-era backends stay legacy and work as before", () => {
  let labHttp: StartedProcess;

  beforeAll(async () => {
    const port = await freePort();
    labHttp = await startProcess([BUN, LAB_SERVER, "--port", String(port)], /listening on/, { LAB_NAME: "lab-http" });
    (labHttp as StartedProcess & { url: string }).url = `http://127.0.0.1:${port}/mcp`;
  });
  afterAll(() => labHttp.kill());

  const cases: [string, () => BackendSpec][] = [
    ["server-everything (stdio)", () => backendSpec({ name: "everything", command: ["node", EVERYTHING, "stdio"] })],
    ["lab-server (stdio)", () => backendSpec({ name: "lab", command: [BUN, LAB_SERVER, "--stdio"], env: { LAB_NAME: "lab" } })],
    ["lab-server (Streamable HTTP)", () => backendSpec({ name: "lab-http", url: (labHttp as StartedProcess & { url: string }).url })],
  ];

  test.for(cases)("%s: detected legacy, initialised at 2025-11-25, connects in well under 2 s", async ([label, spec]) => {
    const backend = connection(spec());
    try {
      const ms = await timedConnect(`legacy ${label}`, backend);
      expect(backend.era).toBe("legacy");
      expect(backend.protocolVersion).toBe("2025-11-25");
      expect(backend.serverInfo?.name).toBeTruthy();
      expect(ms).toBeLessThan(2_000);
      const tools = (await backend.request({ method: "tools/list", params: {} })) as { tools: { name: string }[] };
      expect(tools.tools.map((tool) => tool.name)).toContain("echo");
      const echoed = await callTool(backend, "echo", label.startsWith("server-everything") ? { message: "hi" } : { text: "hi" });
      expect(JSON.stringify(echoed.content)).toContain("hi");
    } finally {
      await backend.close();
    }
  });

  test("what the probe adds to a 2025-era stdio connect (printed; bounded)", async () => {
    const spec = backendSpec({ name: "lab", command: [BUN, LAB_SERVER, "--stdio"], env: { LAB_NAME: "lab" } });
    const linkOptions = {
      capabilities: {},
      clientInfo: { name: "mcpgw", version: "0" },
      env: ENV,
      logger,
      listener: { onRequest: async () => ({}), onNotification: () => undefined },
    };
    const time = async (era: "legacy" | undefined) => {
      const started = performance.now();
      const link = await openBackendLink(spec, { ...linkOptions, ...(era && { era }) });
      const ms = performance.now() - started;
      expect(link.era).toBe("legacy");
      await link.close();
      return ms;
    };
    await time(undefined); // warm the file cache
    // The fastest of a few runs each: the machine is shared, and only the probe's own cost matters here.
    const probed: number[] = [];
    const direct: number[] = [];
    for (let i = 0; i < 3; i++) {
      probed.push(await time(undefined));
      direct.push(await time("legacy"));
    }
    const [withProbe, without] = [Math.min(...probed), Math.min(...direct)];
    console.log(`[era] lab-server stdio connect (fastest of 3): ${Math.round(withProbe)} ms with the probe, ${Math.round(without)} ms initialising directly`);
    expect(withProbe - without).toBeLessThan(250);
  });
});

describe("2025-era servers that do not answer the probe", () => {
  // Raw JSON-RPC on stdio, as a minimal 2025-era server: initialize, tools/list, one tool.
  const serverBody = (onUnknown: string) => `
    const tools = { tools: [{ name: "hello", inputSchema: { type: "object" } }] };
    const reply = (id, result) => process.stdout.write(JSON.stringify({ jsonrpc: "2.0", id, result }) + "\\n");
    let buffered = "";
    process.stdin.on("data", (chunk) => {
      buffered += chunk;
      let end;
      while ((end = buffered.indexOf("\\n")) >= 0) {
        const message = JSON.parse(buffered.slice(0, end));
        buffered = buffered.slice(end + 1);
        if (message.method === "initialize") reply(message.id, { protocolVersion: "2025-11-25", capabilities: { tools: {} }, serverInfo: { name: "raw", version: "1" } });
        else if (message.method === "tools/list") reply(message.id, tools);
        else if (message.method === "tools/call") reply(message.id, { content: [{ type: "text", text: "hello" }] });
        else if (message.id !== undefined) { ${onUnknown} }
      }
    });`;

  test("one that ignores server/discover is legacy after the probe wait (about 1 s)", async () => {
    const backend = connection(backendSpec({ name: "silent-probe", command: [BUN, "-e", serverBody("/* ignored */")] }));
    try {
      const ms = await timedConnect("legacy stdio that ignores the probe", backend);
      expect(backend.era).toBe("legacy");
      expect(ms).toBeGreaterThanOrEqual(950);
      expect(ms).toBeLessThan(2_500);
      expect((await callTool(backend, "hello", {})).content?.[0]?.text).toBe("hello");
    } finally {
      await backend.close();
    }
  });

  test("one that exits on a request before initialize is started again, unprobed, as legacy", async () => {
    const backend = connection(backendSpec({ name: "exits-on-probe", command: [BUN, "-e", serverBody("process.exit(1)")] }));
    try {
      await timedConnect("legacy stdio that exits on the probe", backend);
      expect(backend.era).toBe("legacy");
      expect((await callTool(backend, "hello", {})).content?.[0]?.text).toBe("hello");
    } finally {
      await backend.close();
    }
  });
});
