/**
 * DirectRequests (src/backends/direct-requests.ts) replaces the SDK client's request() on the
 * gateway's hot path and promises the same contract. Here both are driven over one scripted
 * transport, a backend that replays a script of messages, and must agree: the same messages
 * sent (ids aside: each numbers its own), the same results and errors, the same progress.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { type JSONRPCMessage, LATEST_PROTOCOL_VERSION, McpError, type Progress, type Request, ResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, test } from "vitest";
import { DirectRequests } from "../src/backends/direct-requests.ts";

type Message = Record<string, unknown> & { id?: string | number; method?: string; params?: Record<string, unknown> & { _meta?: Record<string, unknown> } };
/** What the backend does on a request: messages to send back (each after `afterMs`, in order), or closing the connection. */
type Reply = { message: (request: Message) => object; afterMs?: number } | { close: true; afterMs?: number };

const result = (value: object, afterMs?: number): Reply => ({ message: (request) => ({ jsonrpc: "2.0", id: request.id, result: value }), afterMs });
const error = (value: object): Reply => ({ message: (request) => ({ jsonrpc: "2.0", id: request.id, error: value }) });
const progress = (n: number, afterMs?: number): Reply => ({
  message: (request) => ({
    jsonrpc: "2.0",
    method: "notifications/progress",
    params: { progressToken: request.params?._meta?.progressToken, progress: n, total: 4, message: `step ${n}` },
  }),
  afterMs,
});

/**
 * An in-memory transport whose other end replays a script: each request it is sent gets the
 * replies its method's script lists. initialize is answered as a server would, so the SDK client can connect.
 */
class ScriptedTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  readonly sent: Message[] = [];
  private closed = false;

  constructor(private readonly script: Record<string, Reply[]>) {}

  async start(): Promise<void> {}

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.closed) throw new Error("the scripted connection is closed");
    const request = structuredClone(message) as Message;
    this.sent.push(request);
    if (request.method === "initialize") {
      const serverInfo = { name: "scripted", version: "1" };
      return this.play(request, [result({ protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: { tools: {} }, serverInfo })]);
    }
    if (request.id !== undefined && request.method !== undefined) this.play(request, this.script[request.method] ?? []);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.onclose?.();
  }

  private play(request: Message, replies: Reply[]): void {
    void (async () => {
      for (const reply of replies) {
        // Each reply in a turn of its own (a real transport's messages never arrive in the same turn as the send).
        await Bun.sleep(reply.afterMs ?? 0);
        if (this.closed) return;
        if ("close" in reply) return void (await this.close());
        this.onmessage?.(reply.message(request) as JSONRPCMessage);
      }
    })();
  }
}

interface RequestOptions {
  timeoutMs: number;
  resetTimeoutOnProgress?: boolean;
  signal?: AbortSignal;
  onprogress?: (progress: Progress) => void;
}

/** One way of sending the gateway's requests: DirectRequests as backend-link.ts wires it, or the SDK client. */
type Driver = (transport: ScriptedTransport) => Promise<(request: Request, options: RequestOptions) => Promise<unknown>>;

const DRIVERS: Record<"DirectRequests" | "SDK client", Driver> = {
  async DirectRequests(transport) {
    const requests = new DirectRequests(transport);
    transport.onmessage = (message) => void requests.take(message);
    transport.onclose = () => requests.close();
    await transport.start();
    return (request, options) => requests.request(request, options);
  },
  async "SDK client"(transport) {
    const client = new Client({ name: "agreement", version: "1" });
    await client.connect(transport);
    transport.sent.splice(0); // initialize and notifications/initialized: the handshake, not the requests compared
    return (request, options) =>
      client.request(request as never, ResultSchema, {
        timeout: options.timeoutMs,
        ...(options.resetTimeoutOnProgress !== undefined && { resetTimeoutOnProgress: options.resetTimeoutOnProgress }),
        ...(options.signal && { signal: options.signal }),
        ...(options.onprogress && { onprogress: options.onprogress }),
      });
  },
};

/** Ids replaced by the place of the request they name, so two numberings compare equal. */
function normalised(sent: Message[]): unknown[] {
  const ids = new Map<unknown, string>();
  const idOf = (id: unknown) => ids.get(id) ?? `<unknown id ${String(id)}>`;
  for (const message of sent) if (message.method !== undefined && message.id !== undefined) ids.set(message.id, `<request ${ids.size + 1}>`);
  return sent.map((message) => {
    const copy = structuredClone(message);
    if (copy.id !== undefined) copy.id = idOf(copy.id);
    if (copy.params?._meta?.progressToken !== undefined) copy.params._meta.progressToken = idOf(copy.params._meta.progressToken);
    if (copy.method === "notifications/cancelled") copy.params!.requestId = idOf(copy.params!.requestId);
    return copy;
  });
}

/** How a request ended, as a caller sees it. */
function outcome(settled: PromiseSettledResult<unknown>): unknown {
  if (settled.status === "fulfilled") return { result: settled.value };
  const reason = settled.reason as unknown;
  return reason instanceof McpError ? { error: { code: reason.code, message: reason.message, data: reason.data } } : { rejected: true };
}

interface Scenario {
  name: string;
  script: Record<string, Reply[]>;
  request: Request;
  options: () => RequestOptions & { progress?: Progress[] };
  /** What both must end with (checked on each, besides their agreeing). */
  expected: (ended: unknown) => void;
}

const FULL_RESULT = { content: [{ type: "text", text: "found" }], structuredContent: { n: 1 }, _meta: { backend: "scripted" }, extra: true };
const call: Request = { method: "tools/call", params: { name: "lookup", arguments: { q: "x" }, _meta: { trace: "kept" } } };

const SCENARIOS: Scenario[] = [
  {
    name: "a result, extra fields and _meta included, is returned as sent",
    script: { "tools/call": [result(FULL_RESULT)] },
    request: call,
    options: () => ({ timeoutMs: 5_000 }),
    expected: (ended) => expect(ended).toEqual({ result: FULL_RESULT }),
  },
  {
    name: "a JSON-RPC error rejects with McpError, its code, message and data kept",
    script: { "tools/call": [error({ code: -32602, message: "no such tool", data: { tool: "lookup" } })] },
    request: call,
    options: () => ({ timeoutMs: 5_000 }),
    expected: (ended) => expect(ended).toEqual({ error: { code: -32602, message: "MCP error -32602: no such tool", data: { tool: "lookup" } } }),
  },
  {
    name: "progress reaches the caller under the request's own token, in order, then the result",
    script: { "tools/call": [progress(1), progress(2), progress(3), result({ content: [] })] },
    request: call,
    options: () => {
      const seen: Progress[] = [];
      return { timeoutMs: 5_000, onprogress: (p) => seen.push(p), progress: seen };
    },
    expected: (ended) => expect(ended).toEqual({ result: { content: [] } }),
  },
  {
    name: "a response for an id nobody sent is ignored; the request's own response still lands",
    script: { "tools/call": [{ message: () => ({ jsonrpc: "2.0", id: 987_654_321, result: { stray: true } }) }, result({ content: [] })] },
    request: call,
    options: () => ({ timeoutMs: 5_000 }),
    expected: (ended) => expect(ended).toEqual({ result: { content: [] } }),
  },
  {
    name: "no answer: the request times out with McpError -32001 and the backend is told it was cancelled",
    script: {},
    request: call,
    options: () => ({ timeoutMs: 200 }),
    expected: (ended) => expect(ended).toEqual({ error: { code: -32001, message: "MCP error -32001: Request timed out", data: { timeout: 200 } } }),
  },
  {
    name: "progress restarts the timeout when asked: a call longer than it in all, never between two notifications, succeeds",
    script: { "tools/call": [progress(1, 150), progress(2, 150), progress(3, 150), progress(4, 150), result({ content: [] }, 150)] },
    request: call,
    options: () => ({ timeoutMs: 500, resetTimeoutOnProgress: true, onprogress: () => undefined }),
    expected: (ended) => expect(ended).toEqual({ result: { content: [] } }),
  },
  {
    name: "aborted while waiting: the backend is told, with the reason, and the request rejects with it",
    script: { "tools/call": [progress(1), result({ content: [] }, 300)] },
    request: call,
    options: () => {
      const controller = new AbortController();
      return { timeoutMs: 5_000, signal: controller.signal, onprogress: () => controller.abort("the client gave up") };
    },
    expected: (ended) => expect(ended).toEqual({ error: { code: -32001, message: "MCP error -32001: the client gave up", data: undefined } }),
  },
  {
    name: "the connection closes while the request waits: it rejects with ConnectionClosed",
    script: { "tools/call": [{ close: true }] },
    request: call,
    options: () => ({ timeoutMs: 5_000 }),
    expected: (ended) => expect(ended).toEqual({ error: { code: -32000, message: "MCP error -32000: Connection closed", data: undefined } }),
  },
];

describe("DirectRequests and the SDK client agree over one scripted transport", () => {
  test.each(SCENARIOS)("$name", async (scenario) => {
    const runs: Record<string, { sent: unknown[]; ended: unknown; progress: Progress[] | undefined }> = {};
    for (const [name, driver] of Object.entries(DRIVERS)) {
      const transport = new ScriptedTransport(scenario.script);
      const send = await driver(transport);
      const options = scenario.options();
      const [settled] = await Promise.allSettled([send(scenario.request, options)]);
      // Whatever each sends once the request has ended (a cancellation) is part of what is compared.
      await Bun.sleep(20);
      runs[name] = { sent: normalised(transport.sent), ended: outcome(settled!), progress: options.progress };
      await transport.close();
    }
    const [direct, sdk] = [runs.DirectRequests!, runs["SDK client"]!];
    expect(direct.sent).toEqual(sdk.sent);
    expect(direct.ended).toEqual(sdk.ended);
    expect(direct.progress).toEqual(sdk.progress);
    scenario.expected(direct.ended);
    // The request itself went out unchanged but for the progress token each adds when asked for progress.
    expect(direct.sent[0]).toMatchObject({ jsonrpc: "2.0", id: "<request 1>", method: "tools/call", params: call.params });
  });

  test("a result that is not an object: DirectRequests refuses it at once, the SDK drops the message and the request times out", async () => {
    const ended: Record<string, unknown> = {};
    for (const [name, driver] of Object.entries(DRIVERS)) {
      const transport = new ScriptedTransport({ "tools/call": [{ message: (request) => ({ jsonrpc: "2.0", id: request.id, result: [1, 2, 3] }) }] });
      const send = await driver(transport);
      ended[name] = outcome((await Promise.allSettled([send(call, { timeoutMs: 300 })]))[0]!);
      await transport.close();
    }
    expect(ended.DirectRequests).toEqual({ rejected: true });
    expect(ended["SDK client"]).toEqual({ error: { code: -32001, message: "MCP error -32001: Request timed out", data: { timeout: 300 } } });
  });

  test("an already aborted request: neither sends anything (DirectRequests rejects with McpError, the SDK with the bare reason)", async () => {
    const ended: Record<string, unknown> = {};
    for (const [name, driver] of Object.entries(DRIVERS)) {
      const transport = new ScriptedTransport({ "tools/call": [result({})] });
      const send = await driver(transport);
      const controller = new AbortController();
      controller.abort("too late");
      ended[name] = await send(call, { timeoutMs: 5_000, signal: controller.signal }).then(
        () => "resolved",
        (err: unknown) => err,
      );
      expect(transport.sent).toEqual([]);
    }
    expect(ended.DirectRequests).toBeInstanceOf(McpError);
    expect((ended.DirectRequests as McpError).message).toMatch(/too late/);
    expect(ended["SDK client"]).toBe("too late");
  });
});
