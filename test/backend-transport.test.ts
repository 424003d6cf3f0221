/**
 * Every backend transport runs the one contract (test/backend-transport.contract.ts), each built
 * by createBackendTransport as the gateway builds it, against server-everything serving that transport.
 */
import { join } from "node:path";
import type { BackendSpec } from "../src/backends/backend-spec.ts";
import type { BunStdioTransport } from "../src/backends/bun-stdio-transport.ts";
import { createBackendTransport } from "../src/backends/transport-factory.ts";
import { createLogger } from "../src/log/logger.ts";
import { type OpenedBackend, type TransportUnderTest, runBackendTransportContract } from "./backend-transport.contract.ts";
import { NODE_MODULES, backendSpec, everythingStdio } from "./helpers/gateway.ts";
import { type StartedProcess, freePort, startProcess } from "./helpers/process.ts";

const logger = createLogger({ level: "silent" });
const transportOf = (spec: BackendSpec) => createBackendTransport(spec, { env: process.env, logger });
const limited = (spec: BackendSpec, maxMessageBytes: number | undefined): BackendSpec => (maxMessageBytes === undefined ? spec : { ...spec, limits: { maxResponseBytes: maxMessageBytes } });

runBackendTransportContract("stdio", { capsMessageSize: true }, async () => ({
  async open(options = {}): Promise<OpenedBackend> {
    const transport = transportOf(limited(backendSpec({ name: "everything", command: everythingStdio() }), options.maxMessageBytes));
    return {
      transport,
      crash: async () => void process.kill((transport as BunStdioTransport).pid!, "SIGKILL"),
    };
  },
  unreachable: () => transportOf(backendSpec({ name: "nowhere", command: ["/nonexistent/mcp-server"] })),
  stop: async () => undefined,
}));

/** server-everything serving `mode` ("streamableHttp" or "sse") over HTTP, on a port of its own. */
async function everythingOverHttp(mode: "streamableHttp" | "sse"): Promise<{ server: StartedProcess; port: number }> {
  const port = await freePort();
  const server = await startProcess(["node", join(NODE_MODULES, "@modelcontextprotocol/server-everything/dist/index.js"), mode], /listening on port|running on port/, { PORT: String(port) });
  return { server, port };
}

function overHttp(mode: "streamableHttp" | "sse", transport: "streamable-http" | "sse", path: string): () => Promise<TransportUnderTest> {
  return async () => {
    const shared = await everythingOverHttp(mode);
    const dedicated: StartedProcess[] = [];
    const spec = (port: number, maxMessageBytes?: number) => limited(backendSpec({ name: "everything", url: `http://127.0.0.1:${port}${path}`, transport }), maxMessageBytes);
    return {
      async open(options = {}) {
        if (!options.dedicated) return { transport: transportOf(spec(shared.port, options.maxMessageBytes)), crash: () => Promise.reject(new Error("crash() needs a dedicated backend")) };
        const own = await everythingOverHttp(mode);
        dedicated.push(own.server);
        return {
          transport: transportOf(spec(own.port, options.maxMessageBytes)),
          async crash() {
            own.server.kill("SIGKILL");
            await own.server.exited;
          },
        };
      },
      unreachable: () => transportOf(spec(1)),
      async stop() {
        for (const server of [shared.server, ...dedicated]) server.kill("SIGKILL");
      },
    };
  };
}

runBackendTransportContract("Streamable HTTP", { capsMessageSize: true }, overHttp("streamableHttp", "streamable-http", "/mcp"));
runBackendTransportContract("legacy SSE", { capsMessageSize: true }, overHttp("sse", "sse", "/sse"));
