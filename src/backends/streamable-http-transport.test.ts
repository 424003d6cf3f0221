import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { StreamableHttpTransport } from "./streamable-http-transport.ts";

/**
 * The transport's lean path (a request on an initialised session) against a small Bun.serve
 * backend that answers in every way the spec allows, so each branch is seen doing what the SDK's
 * own send would have done.
 */
describe("StreamableHttpTransport", () => {
  const posts: { path: string; headers: Record<string, string>; body: { id?: unknown; method?: string } }[] = [];
  let server: ReturnType<typeof Bun.serve>;

  beforeAll(() => {
    server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      async fetch(request) {
        const path = new URL(request.url).pathname;
        if (request.method !== "POST") return new Response(null, { status: 405 });
        const body = (await request.json()) as { id?: unknown; method?: string; params?: { name?: string } };
        posts.push({ path, headers: Object.fromEntries(request.headers), body });
        if (path === "/moved") return new Response(null, { status: 307, headers: { location: "/mcp" } });
        if (body.method === "initialize") {
          const result = { protocolVersion: "2025-11-25", capabilities: {}, serverInfo: { name: "t", version: "1" } };
          return Response.json({ jsonrpc: "2.0", id: body.id, result }, { headers: { "mcp-session-id": "s-1" } });
        }
        if (body.id === undefined) return new Response(null, { status: 202 });
        switch (body.params?.name) {
          case "sse":
            return new Response(
              `event: message\ndata: ${JSON.stringify({ jsonrpc: "2.0", method: "notifications/progress", params: { progressToken: 1, progress: 1 } })}\n\n` +
                `event: message\ndata: ${JSON.stringify({ jsonrpc: "2.0", id: body.id, result: { via: "sse" } })}\n\n`,
              { headers: { "content-type": "text/event-stream" } },
            );
          case "gone":
            return new Response("Session not found", { status: 404 });
          case "deep":
            return new Response(`{"jsonrpc":"2.0","id":${JSON.stringify(body.id)},"result":{"v":${"[".repeat(100_000)}${"]".repeat(100_000)}}}`, {
              headers: { "content-type": "application/json" },
            });
          case "odd":
            return new Response("<html/>", { headers: { "content-type": "text/html" } });
          default:
            return Response.json({ jsonrpc: "2.0", id: body.id, result: { via: "json" } });
        }
      },
    });
  });
  afterAll(() => server.stop(true));

  async function initialised(path = "/mcp") {
    const transport = new StreamableHttpTransport(new URL(path, server.url), { headers: { Authorization: "Bearer k", "Content-Type": "text/plain" }, fetch });
    const received: JSONRPCMessage[] = [];
    const errors: Error[] = [];
    transport.onmessage = (message) => received.push(message);
    transport.onerror = (err) => errors.push(err);
    await transport.start();
    await transport.send({
      jsonrpc: "2.0",
      id: 0,
      method: "initialize",
      params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "c", version: "1" } },
    });
    transport.setProtocolVersion("2025-11-25");
    posts.length = 0;
    received.length = 0;
    return { transport, received, errors };
  }

  test("a request on a session carries the session, the version and the configured headers; its JSON answer is handed on", async () => {
    const { transport, received } = await initialised();
    await transport.send({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "echo" } });
    await transport.send({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "echo" } });
    expect(received).toEqual([
      { jsonrpc: "2.0", id: 1, result: { via: "json" } },
      { jsonrpc: "2.0", id: 2, result: { via: "json" } },
    ]);
    expect(posts[0]?.headers).toMatchObject({
      "mcp-session-id": "s-1",
      "mcp-protocol-version": "2025-11-25",
      authorization: "Bearer k",
      // The transport's own content type wins over a configured one.
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
    });
    await transport.close();
  });

  test("an answer as an event stream is read by the SDK's stream reader: notifications first, then the response", async () => {
    const { transport, received } = await initialised();
    await transport.send({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "sse" } });
    for (let i = 0; i < 100 && received.length < 2; i++) await Bun.sleep(10);
    expect(received.map((m) => ("method" in m ? m.method : (m as { result?: unknown }).result))).toEqual(["notifications/progress", { via: "sse" }]);
    await transport.close();
  });

  test("an HTTP error is a StreamableHTTPError with its status (404: the session expired), also reported to onerror", async () => {
    const { transport, errors } = await initialised();
    const failure = await transport.send({ jsonrpc: "2.0", id: 4, method: "tools/call", params: { name: "gone" } }).catch((err: unknown) => err);
    expect(failure).toMatchObject({ code: 404 });
    expect((failure as Error).message).toMatch(/Session not found/);
    expect(errors).toContain(failure);
    const odd = await transport.send({ jsonrpc: "2.0", id: 5, method: "tools/call", params: { name: "odd" } }).catch((err: unknown) => err);
    expect((odd as Error).message).toMatch(/Unexpected content type: text\/html/);
    await transport.close();
  });

  test("a JSON answer nested deeper than the backend bound fails its call with the reason, and the session goes on", async () => {
    const { transport, received } = await initialised();
    const started = performance.now();
    await transport.send({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "deep" } });
    expect(performance.now() - started).toBeLessThan(100);
    expect(received).toEqual([
      { jsonrpc: "2.0", id: 7, error: { code: -32603, message: "the backend sent a message that is refused: the message nests deeper than 512 levels" } },
    ]);
    await transport.send({ jsonrpc: "2.0", id: 8, method: "tools/call", params: { name: "echo" } });
    expect(received.at(-1)).toEqual({ jsonrpc: "2.0", id: 8, result: { via: "json" } });
    await transport.close();
  });

  test("a redirect is left to the SDK's own send, which follows it within the origin", async () => {
    const { transport, received } = await initialised("/moved");
    await transport.send({ jsonrpc: "2.0", id: 6, method: "tools/call", params: { name: "echo" } });
    expect(posts.map((p) => p.path)).toEqual(["/moved", "/moved", "/mcp"]);
    expect(received).toEqual([{ jsonrpc: "2.0", id: 6, result: { via: "json" } }]);
    await transport.close();
  });
});
