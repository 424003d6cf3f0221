/**
 * A Streamable HTTP backend that forgets the gateway's session (a restart, an expiry) answers 404
 * "Session not found". The request was never processed, so the connection re-initialises once and
 * sends it again (BackendConnection.afterFailure); when the new session is refused too, the call
 * fails with an error that names the backend.
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { jsonRpcError, serveFixtureOverHttp } from "./fixtures/fixture-runner.ts";
import { type TestGateway, connectClient, startTestGateway } from "./helpers/gateway.ts";

describe("a Streamable HTTP backend that forgets the gateway's session", () => {
  let gw: TestGateway;
  let backend: ReturnType<typeof serveFixtureOverHttp>;
  /** Every session id the backend was sent. */
  const seen = new Set<string>();
  /** Sessions the backend answers as unknown; with `forgetAll`, every one. */
  const forgotten = new Set<string>();
  let forgetAll = false;

  beforeAll(async () => {
    const createServer = () => {
      const mcp = new McpServer({ name: "tickets", version: "1.0.0" });
      mcp.registerTool("ping-back", { description: "answers pong" }, async () => ({ content: [{ type: "text", text: "pong" }] }));
      return mcp;
    };
    backend = serveFixtureOverHttp(0, createServer, {
      guard: (request) => {
        const session = request.headers.get("mcp-session-id");
        if (session === null) return undefined;
        seen.add(session);
        return forgetAll || forgotten.has(session) ? jsonRpcError(404, -32001, "Session not found") : undefined;
      },
    });
    gw = await startTestGateway([{ name: "tickets", url: `http://127.0.0.1:${backend.port}/mcp`, timeoutMs: 5_000 }]);
  });

  afterAll(async () => {
    await gw?.stop();
    backend?.stop(true);
  });

  test("the call is sent again on a new session and succeeds; when that one is refused too, the error names the backend", async () => {
    const client = await connectClient(gw.mcpUrl("tickets"), {}, "session-expiry");
    try {
      expect(await client.callTool({ name: "ping-back", arguments: {} })).toMatchObject({ content: [{ type: "text", text: "pong" }] });
      // As a restarted backend: every session given out so far is unknown now.
      const before = seen.size;
      for (const id of seen) forgotten.add(id);
      expect(await client.callTool({ name: "ping-back", arguments: {} })).toMatchObject({ content: [{ type: "text", text: "pong" }] });
      // One new session, on which the call was sent again.
      expect(seen.size).toBe(before + 1);

      forgetAll = true;
      await expect(client.callTool({ name: "ping-back", arguments: {} })).rejects.toThrow(/backend "tickets"/);
      // Tried again once, not in a loop: one more session, refused in turn.
      expect(seen.size).toBe(before + 2);
    } finally {
      forgetAll = false;
      await client.close();
    }
  });
});
