import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { McpgwError } from "../errors.ts";
import type { BackendSpec } from "./backend-spec.ts";
import { createBackendTransport } from "./transport-factory.ts";

function spec(overrides: Partial<BackendSpec>): BackendSpec {
  return { name: "demo", transport: "stdio", env: {}, headers: {}, timeoutMs: 5_000, createdAt: 0, updatedAt: 0, ...overrides };
}

function capturingLogger(): { logger: pino.Logger; records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  return { records, logger: pino({ level: "info" }, { write: (line: string) => records.push(JSON.parse(line)) }) };
}

// Not notifications/initialized: after that one the streamable-http transport also opens a GET
// stream in the background, which would land in a later test's record.
const notification = { jsonrpc: "2.0" as const, method: "notifications/roots/list_changed" };

describe("createBackendTransport over HTTP", () => {
  const seen: { method: string; path: string; authorization: string | null; team: string | null }[] = [];
  let server: ReturnType<typeof Bun.serve>;

  beforeAll(() => {
    server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch(request) {
        const url = new URL(request.url);
        seen.push({ method: request.method, path: url.pathname, authorization: request.headers.get("authorization"), team: request.headers.get("x-team") });
        if (request.method === "GET" && url.pathname === "/sse") {
          // A legacy SSE server first names the endpoint that takes the client's POSTs.
          return new Response("event: endpoint\ndata: /messages\n\n", { headers: { "content-type": "text/event-stream" } });
        }
        return new Response(null, { status: 202 });
      },
    });
  });
  afterAll(() => server.stop(true));

  const env = { API_KEY: "sk-resolved", TEAM: "core" };
  const headers = { Authorization: "Bearer ${API_KEY}", "X-Team": "${TEAM}" };

  test("streamable-http sends the resolved headers", async () => {
    seen.length = 0;
    const transport = createBackendTransport(spec({ transport: "streamable-http", url: `${server.url}mcp`, headers }), {
      env,
      logger: capturingLogger().logger,
    });
    await transport.start();
    await transport.send(notification);
    await transport.close();
    expect(seen).toEqual([{ method: "POST", path: "/mcp", authorization: "Bearer sk-resolved", team: "core" }]);
  });

  test("sse sends the resolved headers on the event stream and on each POST", async () => {
    seen.length = 0;
    const transport = createBackendTransport(spec({ transport: "sse", url: `${server.url}sse`, headers }), { env, logger: capturingLogger().logger });
    await transport.start();
    await transport.send(notification);
    await transport.close();
    expect(seen).toEqual([
      { method: "GET", path: "/sse", authorization: "Bearer sk-resolved", team: "core" },
      { method: "POST", path: "/messages", authorization: "Bearer sk-resolved", team: "core" },
    ]);
  });

  test("an unset variable fails when the transport is built, naming backend and header", () => {
    expect(() => createBackendTransport(spec({ transport: "sse", url: `${server.url}sse`, headers }), { env: {}, logger: capturingLogger().logger })).toThrow(
      McpgwError,
    );
    expect(() =>
      createBackendTransport(spec({ transport: "streamable-http", url: `${server.url}mcp`, headers }), {
        env: { TEAM: "x" },
        logger: capturingLogger().logger,
      }),
    ).toThrow(/backend "demo": header "Authorization" uses \$\{API_KEY\}/);
  });
});

describe("createBackendTransport over stdio", () => {
  test("passes resolved env plus PATH, logs and forwards each stderr line", async () => {
    const { logger, records } = capturingLogger();
    const lines: string[] = [];
    const script =
      "process.stderr.write('first\\nsecond '); process.stderr.write(process.env.GREETING + ' ' + (process.env.PATH ? 'has-path' : 'no-path') + '\\n'); process.stderr.write('tail')";
    const transport = createBackendTransport(spec({ command: [process.execPath, "-e", script], env: { GREETING: "hello ${WHO}" } }), {
      env: { WHO: "world", PATH: process.env.PATH },
      // As a connection passes it: bound to its backend.
      logger: logger.child({ backend: "demo" }),
      onStderrLine: (line) => lines.push(line),
    });
    const closed = new Promise<void>((resolve) => (transport.onclose = resolve));
    await transport.start();
    await closed;
    expect(lines).toEqual(["first", "second hello world has-path", "tail"]);
    expect(records.map((r) => [r.level, r.backend, r.stream, r.msg])).toEqual(lines.map((line) => [30, "demo", "stderr", line]));
  });

  test("close ends a child that ignores stdin, so nothing is left behind", async () => {
    const transport = createBackendTransport(spec({ command: [process.execPath, "-e", "setInterval(() => {}, 1000)"] }), {
      env: { PATH: process.env.PATH },
      logger: capturingLogger().logger,
    }) as Transport & { pid: number | null };
    await transport.start();
    const pid = transport.pid;
    expect(pid).toBeGreaterThan(0);
    await transport.close();
    await waitUntil(() => !alive(pid!), 5_000);
    expect(alive(pid!)).toBe(false);
  });

  test("messages: one per line (\\n or \\r\\n), blank lines skipped, and a consumer that throws on one still gets the rest", async () => {
    const lines = [`{"jsonrpc":"2.0","method":"a"}`, "", `{"jsonrpc":"2.0","method":"b"}\r`, "not json", `{"jsonrpc":"2.0","method":"c"}`];
    const script = `process.stdout.write(${JSON.stringify(lines.join("\n"))} + "\\n")`;
    const transport = createBackendTransport(spec({ command: [process.execPath, "-e", script] }), {
      env: { PATH: process.env.PATH },
      logger: capturingLogger().logger,
    });
    const methods: unknown[] = [];
    const errors: string[] = [];
    transport.onmessage = (message) => {
      methods.push((message as { method?: unknown }).method);
      if (methods.length === 1) throw new Error("consumer failed");
    };
    transport.onerror = (err) => errors.push(err.message);
    await transport.start();
    await waitUntil(() => methods.length >= 3, 5_000);
    await transport.close();
    expect(methods).toEqual(["a", "b", "c"]);
    expect(errors).toEqual(["consumer failed", "malformed message from the backend (not JSON): not json"]);
  });

  test("an unset env reference fails when the transport is built", () => {
    expect(() => createBackendTransport(spec({ command: ["prog"], env: { TOKEN: "${NOPE}" } }), { env: {}, logger: capturingLogger().logger })).toThrow(
      /backend "demo": env "TOKEN" uses \$\{NOPE\}, but NOPE is not set/,
    );
  });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(condition: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!condition() && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 50));
}
