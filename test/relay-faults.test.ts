import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { REPO_ROOT } from "./helpers/cli.ts";
import { BUN, type TestGateway, connectClient, startTestGateway, listAllTools } from "./helpers/gateway.ts";
import { type StartedProcess, freePort, startProcess } from "./helpers/process.ts";

const LAB_SERVER = join(REPO_ROOT, "test/fixtures/lab-server.ts");
const PROTOCOL = "2025-11-25";
const MCP_HEADERS = { accept: "application/json, text/event-stream", "content-type": "application/json" };
const MIB = 1024 * 1024;

type JsonRpc = { jsonrpc: "2.0"; id?: string | number | null; result?: Record<string, unknown>; error?: { code: number; message: string } };

function labStdio(name: string): { name: string; command: string[]; env: Record<string, string> } {
  return { name, command: [BUN, LAB_SERVER, "--stdio"], env: { LAB_NAME: name } };
}

function sessionHeaders(sessionId: string): Record<string, string> {
  return { ...MCP_HEADERS, "mcp-session-id": sessionId, "mcp-protocol-version": PROTOCOL };
}

/**
 * The JSON-RPC response in a body that is either JSON or an SSE stream (the `data:` line holding a
 * result or error; a stream may open with an empty priming event, SEP-1699).
 */
async function rpcOf(response: Response): Promise<JsonRpc> {
  const body = await response.text();
  if (!(response.headers.get("content-type") ?? "").includes("text/event-stream")) return JSON.parse(body) as JsonRpc;
  const messages = body
    .split(/\r?\n/)
    .filter((line) => line.startsWith("data:") && line.slice("data:".length).trim() !== "")
    .map((line) => JSON.parse(line.slice("data:".length)) as JsonRpc);
  const answer = messages.find((m) => "result" in m || "error" in m);
  if (!answer) throw new Error(`no JSON-RPC response in the SSE stream:\n${body}`);
  return answer;
}

function initializeBody(id: number | string = 1): string {
  return JSON.stringify({
    jsonrpc: "2.0",
    id,
    method: "initialize",
    params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: "raw-fetch", version: "1.0.0" } },
  });
}

/** The initialize handshake by hand: initialize, read mcp-session-id, send notifications/initialized. */
async function openRawSession(url: URL): Promise<string> {
  const response = await fetch(url, { method: "POST", headers: MCP_HEADERS, body: initializeBody() });
  const sessionId = response.headers.get("mcp-session-id");
  const answer = await rpcOf(response);
  expect(response.status, JSON.stringify(answer)).toBe(200);
  expect(answer.result?.protocolVersion).toBe(PROTOCOL);
  expect(sessionId).toMatch(/^[\x21-\x7e]+$/);
  const ack = await fetch(url, {
    method: "POST",
    headers: sessionHeaders(sessionId!),
    body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
  });
  expect(ack.status).toBe(202);
  return sessionId!;
}

function postRaw(url: URL, body: string | ReadableStream<Uint8Array>, headers: Record<string, string>): Promise<Response> {
  return fetch(url, { method: "POST", headers, body, duplex: "half" } as RequestInit);
}

/** Asserts an HTTP refusal carrying a JSON-RPC error body. */
async function expectRefusal(response: Response, status: number, code?: number): Promise<JsonRpc> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  const body = JSON.parse(text) as JsonRpc;
  expect(body.jsonrpc).toBe("2.0");
  expect(body.error?.message).toBeTruthy();
  if (code !== undefined) expect(body.error?.code, text).toBe(code);
  return body;
}

function textOf(result: Record<string, unknown>): string {
  return ((result.content ?? []) as { text?: string }[]).map((block) => block.text ?? "").join("\n");
}

async function within<T>(ms: number, what: string, work: Promise<T>): Promise<{ value: T; elapsedMs: number }> {
  const started = Date.now();
  const timeout = Bun.sleep(ms).then(() => Promise.reject(new Error(`${what} took longer than ${ms} ms`)));
  const value = await Promise.race([work, timeout]);
  return { value, elapsedMs: Date.now() - started };
}

describe("relay faults: the gateway reports backend failures and refuses bad input without falling over", () => {
  let gw: TestGateway;
  let slowLab: StartedProcess;
  let downUrl: string;
  const clients: Client[] = [];
  const connect = async (backend?: string) => {
    const client = await connectClient(gw.mcpUrl(backend), {}, `faults-${backend ?? "aggregate"}`);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    const slowPort = await freePort();
    slowLab = await startProcess([BUN, LAB_SERVER, "--port", String(slowPort)], /listening on/, { LAB_NAME: "slow" });
    // A port that was free a moment ago and that nobody listens on.
    downUrl = `http://127.0.0.1:${await freePort()}/mcp`;
    gw = await startTestGateway([
      labStdio("lab"),
      labStdio("crashy"),
      { name: "slow", url: `http://127.0.0.1:${slowPort}/mcp`, timeoutMs: 500 },
      { name: "down", url: downUrl },
    ]);
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await gw?.stop();
    slowLab?.kill("SIGKILL");
  });

  test("backend down: initialize on /mcp/down is a JSON-RPC error naming it; /mcp still serves the others", async () => {
    const response = await fetch(gw.mcpUrl("down"), { method: "POST", headers: MCP_HEADERS, body: initializeBody(7) });
    const refused = await expectRefusal(response, 502);
    expect(refused.id).toBe(7);
    expect(refused.error?.message).toMatch(/backend "down" is unavailable/);
    await expect(connectClient(gw.mcpUrl("down"))).rejects.toThrow(/backend \\?"down\\?"/);

    const aggregate = await connect();
    const echoed = await aggregate.callTool({ name: "lab__echo", arguments: { text: "still here" } });
    expect(echoed.structuredContent).toEqual({ text: "still here", label: "lab" });
    await expect(aggregate.callTool({ name: "down__echo", arguments: { text: "x" } })).rejects.toThrow(/backend "down" is unavailable/);
    // Every aggregated list asks "down" again; its reconnect backoff must not hold the others' answers back.
    for (let i = 0; i < 6; i++) {
      const { value: names } = await within(3_000, `aggregated tools/list #${i + 1} with "down" unreachable`, listAllTools(aggregate));
      expect(names).toContain("lab__echo");
      expect(names.some((n) => n.startsWith("down__"))).toBe(false);
    }
  });

  test("hung backend: the call fails after the backend's 500 ms timeout, and the backend is told to cancel", async () => {
    const client = await connect("slow");
    const started = Date.now();
    await expect(client.callTool({ name: "sleep", arguments: { ms: 20_000 } })).rejects.toThrow(/backend "slow" timed out after 500ms/);
    expect(Date.now() - started).toBeLessThan(5_000);
    // notifications/cancelled reached the backend: its sleep aborted and said so on stderr.
    const deadline = Date.now() + 5_000;
    while (!/cancelled \S+/.test(slowLab.output()) && Date.now() < deadline) await Bun.sleep(50);
    expect(slowLab.output()).toMatch(/cancelled \S+/);
    const echoed = await client.callTool({ name: "echo", arguments: { text: "after the timeout" } });
    expect(echoed.structuredContent).toEqual({ text: "after the timeout", label: "slow" });
  });

  test("fast-path cancellation: a cancelled call ends at once, later calls are unaffected, and a reused id's later call can still be cancelled", async () => {
    // Calls answered as JSON get recycled abort controllers (src/front/recycled-controllers.ts): an aborted
    // one must never serve a later call, and the end of a call must not take its id from a later call.
    const url = gw.mcpUrl("lab");
    const headers = sessionHeaders(await openRawSession(url));
    const call = (id: number, name: string, args: Record<string, unknown>) =>
      postRaw(url, JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: args } }), headers).then(rpcOf);
    const cancel = (requestId: number) =>
      postRaw(url, JSON.stringify({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId, reason: "test" } }), headers);

    const slow = call(5, "sleep", { ms: 20_000 });
    await Bun.sleep(200);
    expect((await cancel(5)).status).toBe(202);
    const { value: cancelled } = await within(3_000, "the cancelled call's answer", slow);
    // Said as what it was: not the backend's timeout (30 s here), which it used to be called.
    expect(cancelled.error?.message).toBe('the call to backend "lab" was cancelled by its caller: test');
    for (let id = 6; id < 26; id++) {
      const echoed = await call(id, "echo", { text: `after ${id}` });
      expect(echoed.error, JSON.stringify(echoed)).toBeUndefined();
      expect(echoed.result?.structuredContent).toEqual({ text: `after ${id}`, label: "lab" });
    }

    // The same id twice: the first call ends on its own, then the second (still running) is cancelled by that id.
    const first = call(30, "sleep", { ms: 300 });
    await Bun.sleep(100);
    const second = call(30, "sleep", { ms: 20_000 });
    expect((await first).error).toBeUndefined();
    await Bun.sleep(100);
    expect((await cancel(30)).status).toBe(202);
    const { value: secondAnswer } = await within(3_000, "the second call with a reused id, once cancelled", second);
    expect(secondAnswer.error?.message).toMatch(/was cancelled by its caller/);
  });

  test("stdio backend dies mid-call: that call fails naming it; the next call runs on the restarted process", async () => {
    const client = await connect("crashy");
    expect((await client.callTool({ name: "echo", arguments: { text: "before" } })).structuredContent).toEqual({ text: "before", label: "crashy" });
    await expect(client.callTool({ name: "crash", arguments: {} })).rejects.toThrow(/backend "crashy" is unavailable/);
    const { value: after, elapsedMs } = await within(10_000, "the call after the crash", client.callTool({ name: "echo", arguments: { text: "after" } }));
    expect(after.structuredContent).toEqual({ text: "after", label: "crashy" });
    expect(elapsedMs).toBeLessThan(5_000);
  });

  describe("raw HTTP on /mcp/lab", () => {
    let url: URL;
    let sessionId: string;

    beforeAll(async () => {
      url = gw.mcpUrl("lab");
      sessionId = await openRawSession(url);
    });

    test("a request on the session reaches the backend", async () => {
      const response = await postRaw(
        url,
        JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "echo", arguments: { text: "raw" } } }),
        sessionHeaders(sessionId),
      );
      expect(response.status).toBe(200);
      const answer = await rpcOf(response);
      expect(answer.id).toBe(2);
      expect(answer.result?.structuredContent).toEqual({ text: "raw", label: "lab" });
    });

    test("malformed JSON → 400, -32700", async () => {
      await expectRefusal(await postRaw(url, '{"jsonrpc":"2.0","id":3,"method":', sessionHeaders(sessionId)), 400, -32700);
    });

    test.each([
      ["no method, result or error", '{"jsonrpc":"2.0","id":1}'],
      ["a number", "42"],
      ["a string", '"tools/list"'],
      ["null", "null"],
      ["no jsonrpc member", '{"id":1,"method":"tools/list"}'],
    ])("invalid JSON-RPC (%s) → 400, -32600", async (_what, body) => {
      await expectRefusal(await postRaw(url, body, sessionHeaders(sessionId)), 400, -32600);
    });

    test("a batch (array) → 400, -32600", async () => {
      const batch = JSON.stringify([
        { jsonrpc: "2.0", id: 10, method: "tools/list" },
        { jsonrpc: "2.0", id: 11, method: "tools/list" },
      ]);
      const refused = await expectRefusal(await postRaw(url, batch, sessionHeaders(sessionId)), 400, -32600);
      expect(refused.error?.message).toMatch(/batch/i);
    });

    test("an unknown method goes to the backend, whose own -32601 comes back", async () => {
      const response = await postRaw(url, JSON.stringify({ jsonrpc: "2.0", id: 5, method: "lab/unknown" }), sessionHeaders(sessionId));
      expect(response.status).toBe(200);
      const answer = await rpcOf(response);
      expect(answer.id).toBe(5);
      expect(answer.error?.code).toBe(-32601);
    });

    test("wrong Accept → 406", async () => {
      await expectRefusal(await postRaw(url, initializeBody(), { ...MCP_HEADERS, accept: "application/json" }), 406);
      await expectRefusal(await postRaw(url, initializeBody(), { ...MCP_HEADERS, accept: "text/html" }), 406);
    });

    test("wrong Content-Type → 415", async () => {
      await expectRefusal(await postRaw(url, initializeBody(), { ...MCP_HEADERS, "content-type": "text/plain" }), 415);
    });

    test("unknown Mcp-Session-Id → 404", async () => {
      const body = JSON.stringify({ jsonrpc: "2.0", id: 6, method: "tools/list" });
      await expectRefusal(await postRaw(url, body, sessionHeaders(crypto.randomUUID())), 404);
      const get = await fetch(url, { headers: { accept: "text/event-stream", "mcp-session-id": "no-such-session", "mcp-protocol-version": PROTOCOL } });
      await expectRefusal(get, 404);
    });

    test("foreign Origin or Host → 403", async () => {
      await expectRefusal(await postRaw(url, initializeBody(), { ...MCP_HEADERS, origin: "http://evil.example.com" }), 403);
      await expectRefusal(await postRaw(url, initializeBody(), { ...MCP_HEADERS, host: "evil.example.com" }), 403);
      // A sandboxed iframe or a file: page sends "Origin: null" from anywhere.
      await expectRefusal(await postRaw(url, initializeBody(), { ...MCP_HEADERS, origin: "null" }), 403);
      const onSession = await postRaw(url, JSON.stringify({ jsonrpc: "2.0", id: 8, method: "tools/list" }), {
        ...sessionHeaders(sessionId),
        origin: "http://evil.example.com",
      });
      await expectRefusal(onSession, 403);
    });

    test("DELETE ends a session; its id is then unknown (404)", async () => {
      const doomed = await openRawSession(url);
      const deleted = await fetch(url, { method: "DELETE", headers: { "mcp-session-id": doomed, "mcp-protocol-version": PROTOCOL } });
      expect(deleted.status).toBe(200);
      await expectRefusal(await postRaw(url, JSON.stringify({ jsonrpc: "2.0", id: 9, method: "tools/list" }), sessionHeaders(doomed)), 404);
      await expectRefusal(await fetch(url, { method: "DELETE", headers: { "mcp-session-id": doomed } }), 404);
    });

    test("POST without a session id that is not initialize → 400", async () => {
      await expectRefusal(await postRaw(url, JSON.stringify({ jsonrpc: "2.0", id: 12, method: "tools/list" }), MCP_HEADERS), 400, -32600);
    });

    test("an initialize without its params → 400 naming what is missing", async () => {
      const refused = await expectRefusal(await postRaw(url, JSON.stringify({ jsonrpc: "2.0", id: 14, method: "initialize" }), MCP_HEADERS), 400, -32602);
      expect(refused.error?.message).toMatch(/Invalid initialize request: params/);
      const noClientInfo = JSON.stringify({ jsonrpc: "2.0", id: 15, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {} } });
      expect((await expectRefusal(await postRaw(url, noClientInfo, MCP_HEADERS), 400, -32602)).error?.message).toContain("clientInfo");
    });

    test("a body over 1 MiB → 413, with Content-Length and streamed without it", async () => {
      const head = '{"jsonrpc":"2.0","id":13,"method":"tools/call","params":{"name":"echo","arguments":{"text":"';
      const tail = '"}}}';
      const declared = await postRaw(url, head + "x".repeat(MIB + 10) + tail, sessionHeaders(sessionId));
      expect(declared.status).toBe(413);
      expect(((await declared.json()) as JsonRpc).error?.code).toBe(-32600);

      const chunk = new TextEncoder().encode("x".repeat(64 * 1024));
      let sent = 0;
      const streamed = new ReadableStream<Uint8Array>({
        start: (controller) => controller.enqueue(new TextEncoder().encode(head)),
        pull(controller) {
          if (sent >= 2 * MIB) {
            controller.enqueue(new TextEncoder().encode(tail));
            return controller.close();
          }
          sent += chunk.byteLength;
          controller.enqueue(chunk);
        },
      });
      const response = await postRaw(url, streamed, sessionHeaders(sessionId));
      expect(response.status).toBe(413);
    });
  });

  test("an idle session expires: after 2.5 s without traffic (idle timeout 1 s) its id is 404", async () => {
    const idleGw = await startTestGateway([labStdio("lab")], { sessionIdleTimeout: "1s" });
    try {
      const url = idleGw.mcpUrl("lab");
      const sessionId = await openRawSession(url);
      const listed = await postRaw(url, JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }), sessionHeaders(sessionId));
      expect((await rpcOf(listed)).result?.tools).toBeDefined();
      await Bun.sleep(2_500);
      await expectRefusal(await postRaw(url, JSON.stringify({ jsonrpc: "2.0", id: 3, method: "tools/list" }), sessionHeaders(sessionId)), 404);
    } finally {
      await idleGw.stop();
    }
  });

  test("after all of that the gateway still answers /healthz and a normal call", async () => {
    const health = await fetch(new URL("/healthz", gw.base));
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: "ok" });
    const client = await connect("lab");
    const echoed = await client.callTool({ name: "echo", arguments: { text: "alive" } });
    expect(echoed.structuredContent).toEqual({ text: "alive", label: "lab" });
    expect(textOf(echoed)).toBe("lab: alive");
  });
});
