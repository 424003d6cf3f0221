import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { McpgwError } from "../errors.ts";
import { probeBackend } from "./backend-probe.ts";
import type { BackendSpec } from "./backend-spec.ts";

const logger = pino({ level: "silent" });
const options = { env: { API_KEY: "good" }, logger, clientVersion: "0.0.0-test" };

function spec(overrides: Partial<BackendSpec>): BackendSpec {
  return { name: "probe", transport: "streamable-http", env: {}, headers: {}, timeoutMs: 5_000, createdAt: 0, updatedAt: 0, ...overrides };
}

/** A stateless MCP server whose tools come in two pages, so the probe must follow nextCursor. */
function pagedServer(): Server {
  const server = new Server({ name: "paged", version: "1.2.3" }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, (request) => {
    const tool = (name: string) => ({ name, inputSchema: { type: "object" as const } });
    return request.params?.cursor === "page-2" ? { tools: [tool("c")] } : { tools: [tool("a"), tool("b")], nextCursor: "page-2" };
  });
  return server;
}

describe("probeBackend", () => {
  let http: ReturnType<typeof Bun.serve>;

  beforeAll(() => {
    http = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      idleTimeout: 0,
      async fetch(request) {
        const path = new URL(request.url).pathname;
        if (path === "/hang") return new Promise<Response>(() => undefined);
        if (path === "/mcp") {
          if (request.headers.get("authorization") !== "Bearer good") return new Response("unauthorized", { status: 401 });
          const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
          await pagedServer().connect(transport);
          return transport.handleRequest(request);
        }
        return new Response("not found", { status: 404 });
      },
    });
  });
  afterAll(() => http.stop(true));

  test("initialises, follows nextCursor through every page and reports the server", async () => {
    const result = await probeBackend(spec({ url: `${http.url}mcp`, headers: { Authorization: "Bearer ${API_KEY}" } }), options);
    expect(result).toMatchObject({
      backend: "probe",
      transport: "streamable-http",
      server: { name: "paged", version: "1.2.3" },
      protocolVersion: "2025-11-25",
      tools: ["a", "b", "c"],
    });
    expect(result.connectMs).toBeGreaterThanOrEqual(0);
  });

  test("a 401 says which header to check", async () => {
    const failure = await probeBackend(spec({ url: `${http.url}mcp`, headers: { Authorization: "Bearer wrong" } }), options).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(McpgwError);
    expect((failure as McpgwError).message).toMatch(/backend "probe" answered HTTP 401 at http:\/\/127\.0\.0\.1:\d+\/mcp/);
    expect((failure as McpgwError).hint).toMatch(/headers/);
  });

  test("a 404 points at the URL path", async () => {
    const failure = (await probeBackend(spec({ url: `${http.url}nope` }), options).catch((err: unknown) => err)) as McpgwError;
    expect(failure.message).toMatch(/answered HTTP 404/);
    expect(failure.hint).toMatch(/URL path/);
  });

  test("a server that never answers times out within the backend's timeout", async () => {
    const started = Date.now();
    const failure = (await probeBackend(spec({ url: `${http.url}hang`, timeoutMs: 300 }), options).catch((err: unknown) => err)) as McpgwError;
    expect(failure).toBeInstanceOf(McpgwError);
    expect(failure.message).toMatch(/backend "probe" timed out after 300ms/);
    expect(failure.hint).toMatch(/--timeout/);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  test("a missing ${VAR} is reported before anything is attempted", async () => {
    await expect(probeBackend(spec({ url: `${http.url}mcp`, headers: { Authorization: "Bearer ${UNSET_KEY}" } }), options)).rejects.toThrow(
      /backend "probe": header "Authorization" uses \$\{UNSET_KEY\}/,
    );
  });

  test("a stdio program that exits at once is reported with its last stderr lines", async () => {
    const failure = (await probeBackend(spec({ transport: "stdio", command: [process.execPath, "-e", "console.error('boom: no config'); process.exit(3)"] }), {
      ...options,
      env: { PATH: process.env.PATH },
    }).catch((err: unknown) => err)) as McpgwError;
    expect(failure).toBeInstanceOf(McpgwError);
    expect(failure.message).toMatch(/backend "probe": command ".*" exited before answering/);
    expect(failure.hint).toContain("boom: no config");
  });
});
