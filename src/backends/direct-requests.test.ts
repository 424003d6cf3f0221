import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
// The gateway's own McpError (src/protocol/mcp-values.ts), which DirectRequests rejects with.
import { ErrorCode, McpError } from "../protocol/mcp-values.ts";
import { describe, expect, test } from "vitest";
import { DirectRequests } from "./direct-requests.ts";

/**
 * DirectRequests over the SDK's own in-memory transport pair: the test plays the backend on the
 * other end, reading what the gateway sent and answering by hand.
 */
async function connected() {
  const [gatewaySide, backendSide] = InMemoryTransport.createLinkedPair();
  const passedOn: JSONRPCMessage[] = [];
  gatewaySide.onmessage = (message) => passedOn.push(message); // stands for the SDK client's handler
  const received: JSONRPCMessage[] = [];
  const waiters: (() => void)[] = [];
  backendSide.onmessage = (message) => {
    received.push(message);
    for (const wake of waiters.splice(0)) wake();
  };
  await gatewaySide.start();
  await backendSide.start();
  const requests = new DirectRequests(gatewaySide);
  requests.intercept();
  /** The next message the backend receives that matches. */
  const nextReceived = async (match: (m: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> => {
    for (;;) {
      const found = received.find((m) => match(m as Record<string, unknown>));
      if (found) {
        received.splice(received.indexOf(found), 1);
        return found as Record<string, unknown>;
      }
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  const send = (message: Record<string, unknown>) => backendSide.send({ jsonrpc: "2.0", ...message } as JSONRPCMessage);
  return { requests, passedOn, nextReceived, send, close: () => gatewaySide.close() };
}

describe("DirectRequests", () => {
  test("a result resolves its request; a JSON-RPC error rejects with McpError, code and data kept", async () => {
    const backend = await connected();
    const first = backend.requests.request({ method: "tools/call", params: { name: "echo" } }, { timeoutMs: 5_000 });
    const second = backend.requests.request({ method: "tools/call", params: { name: "boom" } }, { timeoutMs: 5_000 });
    const a = await backend.nextReceived((m) => (m.params as { name?: string })?.name === "echo");
    const b = await backend.nextReceived((m) => (m.params as { name?: string })?.name === "boom");
    expect(a.id).not.toBe(b.id);
    // Answered out of order: each lands on its own request.
    await backend.send({ id: b.id, error: { code: -32602, message: "no such tool", data: { tool: "boom" } } });
    await backend.send({ id: a.id, result: { content: [{ type: "text", text: "hi" }] } });
    expect(await first).toEqual({ content: [{ type: "text", text: "hi" }] });
    const failure = await second.catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(McpError);
    expect(failure).toMatchObject({ code: -32602, data: { tool: "boom" } });
    expect((failure as Error).message).toMatch(/no such tool/);
    expect(backend.passedOn).toEqual([]);
  });

  test("a result that is not an object is refused", async () => {
    const backend = await connected();
    const call = backend.requests.request({ method: "ping" }, { timeoutMs: 5_000 });
    const sent = await backend.nextReceived((m) => m.method === "ping");
    await backend.send({ id: sent.id, result: [1, 2] });
    await expect(call).rejects.toThrow(/has no result object/);
  });

  test("progress reaches its request under the gateway's token, and restarts the timeout when asked", async () => {
    const backend = await connected();
    const progress: unknown[] = [];
    const call = backend.requests.request(
      { method: "tools/call", params: { name: "slow", _meta: { keep: true } } },
      { timeoutMs: 300, resetTimeoutOnProgress: true, onprogress: (p) => progress.push(p) },
    );
    const sent = await backend.nextReceived((m) => m.method === "tools/call");
    const meta = (sent.params as { _meta: Record<string, unknown> })._meta;
    expect(meta).toEqual({ keep: true, progressToken: sent.id });
    // 5 × 150 ms: longer than the timeout in all, never longer than it between two progress notifications.
    for (let i = 1; i <= 5; i++) {
      await Bun.sleep(150);
      await backend.send({ method: "notifications/progress", params: { progressToken: sent.id, progress: i, total: 5 } });
    }
    await backend.send({ id: sent.id, result: { content: [] } });
    expect(await call).toEqual({ content: [] });
    expect(progress).toEqual([1, 2, 3, 4, 5].map((i) => ({ progress: i, total: 5 })));
    // Progress for a token nobody waits on is someone else's business.
    await backend.send({ method: "notifications/progress", params: { progressToken: sent.id, progress: 6 } });
    expect(backend.passedOn).toEqual([{ jsonrpc: "2.0", method: "notifications/progress", params: { progressToken: sent.id, progress: 6 } }]);
  });

  test("a progress consumer that throws does not stop its request (or the connection) from getting its answer", async () => {
    const backend = await connected();
    const call = backend.requests.request(
      { method: "tools/call", params: { name: "x" } },
      {
        timeoutMs: 5_000,
        onprogress: () => {
          throw new Error("consumer failed");
        },
      },
    );
    const sent = await backend.nextReceived((m) => m.method === "tools/call");
    await backend.send({ method: "notifications/progress", params: { progressToken: sent.id, progress: 1 } });
    await backend.send({ id: sent.id, result: { ok: true } });
    expect(await call).toEqual({ ok: true });
  });

  test("a timeout rejects with RequestTimeout and tells the backend (notifications/cancelled)", async () => {
    const backend = await connected();
    const call = backend.requests.request({ method: "tools/call", params: { name: "hang" } }, { timeoutMs: 100 });
    const sent = await backend.nextReceived((m) => m.method === "tools/call");
    const failure = await call.catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(McpError);
    expect((failure as McpError).code).toBe(ErrorCode.RequestTimeout);
    const cancelled = await backend.nextReceived((m) => m.method === "notifications/cancelled");
    expect((cancelled.params as { requestId: unknown }).requestId).toBe(sent.id);
    // A late answer belongs to no one here: it goes on to the SDK client (which logs it).
    await backend.send({ id: sent.id, result: {} });
    expect(backend.passedOn).toHaveLength(1);
    expect(backend.requests.inFlight).toBe(0);
  });

  test("an abort rejects at once and sends notifications/cancelled with the reason", async () => {
    const backend = await connected();
    const controller = new AbortController();
    const call = backend.requests.request({ method: "tools/call", params: { name: "long" } }, { timeoutMs: 5_000, signal: controller.signal });
    const sent = await backend.nextReceived((m) => m.method === "tools/call");
    controller.abort("the client gave up");
    await expect(call).rejects.toThrow(/the client gave up/);
    const cancelled = await backend.nextReceived((m) => m.method === "notifications/cancelled");
    expect(cancelled.params).toEqual({ requestId: sent.id, reason: "the client gave up" });
    // Already aborted: nothing is sent at all.
    await expect(backend.requests.request({ method: "ping" }, { timeoutMs: 5_000, signal: controller.signal })).rejects.toThrow(/the client gave up/);
  });

  test("a closed connection fails what is waiting, and anything sent later, with ConnectionClosed", async () => {
    const backend = await connected();
    const call = backend.requests.request({ method: "tools/call", params: { name: "x" } }, { timeoutMs: 5_000 });
    await backend.nextReceived((m) => m.method === "tools/call");
    backend.requests.close();
    await expect(call).rejects.toMatchObject({ code: ErrorCode.ConnectionClosed });
    await expect(backend.requests.request({ method: "ping" }, { timeoutMs: 5_000 })).rejects.toMatchObject({ code: ErrorCode.ConnectionClosed });
  });

  test("traffic the backend starts, and responses to ids it does not know, go on to the SDK client", async () => {
    const backend = await connected();
    await backend.send({ id: 7, method: "sampling/createMessage", params: {} });
    await backend.send({ method: "notifications/message", params: { level: "info", data: "x" } });
    await backend.send({ id: 99, result: {} });
    expect(backend.passedOn.map((m) => ("method" in m ? m.method : `response ${String((m as { id: unknown }).id)}`))).toEqual([
      "sampling/createMessage",
      "notifications/message",
      "response 99",
    ]);
  });

  test("a backend task keeps reporting progress under the creating call's token until its result is fetched", async () => {
    const backend = await connected();
    const progress: unknown[] = [];
    const create = backend.requests.request(
      { method: "tools/call", params: { name: "research", task: { ttl: 60_000 } } },
      { timeoutMs: 5_000, onprogress: (p) => progress.push(p) },
    );
    const sent = await backend.nextReceived((m) => m.method === "tools/call");
    await backend.send({ id: sent.id, result: { task: { taskId: "t-1", status: "working" } } });
    await create;
    await backend.send({ method: "notifications/progress", params: { progressToken: sent.id, progress: 1 } });
    const result = backend.requests.request({ method: "tasks/result", params: { taskId: "t-1" } }, { timeoutMs: 5_000 });
    const asked = await backend.nextReceived((m) => m.method === "tasks/result");
    await backend.send({ method: "notifications/progress", params: { progressToken: sent.id, progress: 2 } });
    await backend.send({ id: asked.id, result: { content: [] } });
    await result;
    expect(progress).toEqual([{ progress: 1 }, { progress: 2 }]);
    // The task is over: its token is no longer the gateway's.
    await backend.send({ method: "notifications/progress", params: { progressToken: sent.id, progress: 3 } });
    expect(backend.passedOn).toHaveLength(1);
  });
});
