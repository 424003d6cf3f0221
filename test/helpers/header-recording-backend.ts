import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { serveFixtureOverHttp } from "../fixtures/fixture-runner.ts";

/** One request as the backend received it. */
export interface ReceivedRequest {
  session: string | null;
  method: string;
  authorization: string | null;
}

/**
 * A Streamable HTTP backend (real SDK server, one session per client) that records every request,
 * and whose tool `whoami` answers with the Authorization header of the very request that called it.
 */
export function headerRecordingBackend(): { url: string; received: ReceivedRequest[]; requests: Request[]; stop(): void } {
  const requests: Request[] = [];
  const received: ReceivedRequest[] = [];
  const createServer = () => {
    const mcp = new McpServer({ name: "tickets", version: "1.0.0" });
    mcp.registerTool("whoami", { description: "the credential this call came with" }, async (extra) => ({
      content: [{ type: "text", text: String(extra.requestInfo?.headers.authorization ?? "") }],
    }));
    return mcp;
  };
  const server = serveFixtureOverHttp(0, createServer, {
    // Seen before session handling; the copy's body is read when the test looks.
    guard: (request) => {
      requests.push(request.clone() as typeof request);
      received.push({ session: request.headers.get("mcp-session-id"), method: request.method, authorization: request.headers.get("authorization") });
      return undefined;
    },
  });
  return { url: `http://127.0.0.1:${server.port}/mcp`, received, requests, stop: () => void server.stop(true) };
}

/** Every header and body the backend received, for looking for what must never be there. */
export async function everythingReceived(requests: Request[]): Promise<string[]> {
  return Promise.all(
    requests.map(async (request) => `${[...request.headers].map(([name, value]) => `${name}: ${value}`).join("\n")}\n\n${await request.text()}`),
  );
}
