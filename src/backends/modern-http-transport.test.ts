import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ModernHttpTransport, headerValue } from "./modern-http-transport.ts";

describe("headerValue (Mcp-Name encoding)", () => {
  test.for([
    ["echo", "echo"],
    ["file:///tmp/a b.txt", "file:///tmp/a b.txt"],
    ["Hello, 世界", "=?base64?SGVsbG8sIOS4lueVjA==?="],
    [" padded ", "=?base64?IHBhZGRlZCA=?="],
    ["tab\there", `=?base64?${Buffer.from("tab\there").toString("base64")}?=`],
    ["=?base64?abc?=", `=?base64?${Buffer.from("=?base64?abc?=").toString("base64")}?=`],
    ["", "=?base64??="],
  ])("%j → %j", ([value, expected]) => {
    expect(headerValue(value!)).toBe(expected);
  });
});

/**
 * The transport against hand-written answers: what each request's POST carried, and how JSON,
 * event streams and refusals come back as messages or errors.
 */
describe("ModernHttpTransport", () => {
  let server: ReturnType<typeof Bun.serve>;
  const seen: { headers: Headers; body: Record<string, unknown> }[] = [];
  /** What the server answers to the next POST, by the request's tool name. */
  const answers: Record<string, (id: unknown) => Response> = {};

  beforeAll(() => {
    server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      async fetch(request) {
        const body = (await request.json()) as Record<string, unknown>;
        seen.push({ headers: request.headers, body });
        const name = (body.params as { name?: string; uri?: string } | undefined)?.name ?? "default";
        return (answers[name] ?? answers.default!)(body.id);
      },
    });
    answers.default = (id) => Response.json({ jsonrpc: "2.0", id, result: { resultType: "complete", ok: true } });
  });
  afterAll(() => server.stop(true));

  function transport(maxMessageBytes = 1024 * 1024) {
    const received: JSONRPCMessage[] = [];
    const t = new ModernHttpTransport(new URL(`${server.url}mcp`), {
      headers: { "X-Key": "v", Accept: "text/plain" },
      fetch,
      protocolVersion: "2026-07-28",
      maxMessageBytes,
    });
    t.onmessage = (message) => void received.push(message);
    return { t, received };
  }

  test("headers: the configured ones, then the transport's own (which win), Mcp-Method and Mcp-Name", async () => {
    const { t, received } = transport();
    await t.send({ jsonrpc: "2.0", id: 1, method: "resources/read", params: { uri: "file:///ä" } });
    await t.send({ jsonrpc: "2.0", id: 2, method: "tools/list", params: {} });
    const [read, list] = seen.slice(-2);
    expect(read!.headers.get("mcp-method")).toBe("resources/read");
    expect(read!.headers.get("mcp-name")).toBe(headerValue("file:///ä"));
    expect(read!.headers.get("mcp-protocol-version")).toBe("2026-07-28");
    expect(read!.headers.get("x-key")).toBe("v");
    expect(read!.headers.get("accept")).toBe("application/json, text/event-stream");
    expect(list!.headers.get("mcp-name")).toBeNull();
    expect(received.map((m) => (m as { id: number }).id)).toEqual([1, 2]);
  });

  test("an event stream: notifications and the response, CRLF lines and comments included; the stream is closed after the response", async () => {
    answers.stream = (id) =>
      new Response(
        `: keep-alive\r\n\r\nevent: message\r\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":7,"progress":1}}\r\n\r\n` +
          `data: {"jsonrpc":"2.0","id":${JSON.stringify(id)},\r\ndata: "result":{"resultType":"complete"}}\r\n\r\ndata: {"jsonrpc":"2.0","method":"never/read"}\n\n`,
        { headers: { "content-type": "text/event-stream" } },
      );
    const { t, received } = transport();
    await t.send({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "stream" } });
    expect(received).toEqual([
      { jsonrpc: "2.0", method: "notifications/progress", params: { progressToken: 7, progress: 1 } },
      { jsonrpc: "2.0", id: 3, result: { resultType: "complete" } },
    ]);
  });

  test("a stream that ends without the response is an error", async () => {
    answers.cut = () =>
      new Response(`data: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":1}}\n\n`, {
        headers: { "content-type": "text/event-stream" },
      });
    await expect(transport().t.send({ jsonrpc: "2.0", id: 4, method: "tools/call", params: { name: "cut" } })).rejects.toThrow(
      /closed the response stream before answering/,
    );
  });

  test("a 400 with a JSON-RPC error (id null) answers the request; one without is a StreamableHTTPError with the status", async () => {
    answers.refused = () => Response.json({ jsonrpc: "2.0", id: null, error: { code: -32020, message: "Header mismatch" } }, { status: 400 });
    answers.broken = () => new Response("upstream down", { status: 502 });
    const { t, received } = transport();
    await t.send({ jsonrpc: "2.0", id: 5, method: "tools/call", params: { name: "refused" } });
    expect(received).toEqual([{ jsonrpc: "2.0", id: 5, error: { code: -32020, message: "Header mismatch" } }]);
    const failure = await t.send({ jsonrpc: "2.0", id: 6, method: "tools/call", params: { name: "broken" } }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(StreamableHTTPError);
    expect((failure as StreamableHTTPError).code).toBe(502);
  });

  test("a redirect is not followed (the configured headers are for this URL only)", async () => {
    answers.moved = () => new Response(null, { status: 307, headers: { location: "https://elsewhere.example/mcp" } });
    const failure = await transport()
      .t.send({ jsonrpc: "2.0", id: 9, method: "tools/call", params: { name: "moved" } })
      .catch((err: unknown) => err);
    expect((failure as StreamableHTTPError).code).toBe(307);
    expect((failure as Error).message).toContain("https://elsewhere.example/mcp");
  });

  test("an event over the size cap fails its request instead of being handed on", async () => {
    answers.huge = (id) =>
      new Response(`data: {"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":{"text":"${"x".repeat(5000)}"}}\n\n`, {
        headers: { "content-type": "text/event-stream" },
      });
    const { t, received } = transport(1000);
    await t.send({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "huge" } });
    expect(received).toHaveLength(1);
    expect((received[0] as { error?: { message: string } }).error?.message).toMatch(/over the 1000-byte cap/);
  });

  test("notifications/cancelled aborts the request's POST; send then resolves quietly", async () => {
    let serverSawAbort = false;
    answers.slow = () =>
      new Response(
        new ReadableStream({
          cancel: () => void (serverSawAbort = true),
        }),
        { headers: { "content-type": "text/event-stream" } },
      );
    const { t, received } = transport();
    const sending = t.send({ jsonrpc: "2.0", id: 8, method: "tools/call", params: { name: "slow" } });
    await Bun.sleep(100);
    await t.send({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 8, reason: "gone" } });
    await expect(sending).resolves.toBeUndefined();
    expect(received).toEqual([]);
    for (let i = 0; i < 50 && !serverSawAbort; i++) await Bun.sleep(10);
    expect(serverSawAbort).toBe(true);
  });
});
