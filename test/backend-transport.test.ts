/**
 * Every backend transport runs the one contract (test/backend-transport.contract.ts), each built
 * by createBackendTransport as the gateway builds it, against server-everything serving that transport.
 */
import type { BackendSpec } from "../src/backends/backend-spec.ts";
import type { BunStdioTransport } from "../src/backends/bun-stdio-transport.ts";
import { createBackendTransport } from "../src/backends/transport-factory.ts";
import { createLogger } from "../src/log/logger.ts";
import { type OpenedBackend, type TransportUnderTest, runBackendTransportContract } from "./backend-transport.contract.ts";
import { backendSpec, everythingStdio, startEverythingHttp } from "./helpers/gateway.ts";
import type { StartedProcess } from "./helpers/process.ts";

const logger = createLogger({ level: "silent" });
const transportOf = (spec: BackendSpec) => createBackendTransport(spec, { env: process.env, logger });
/** The spec with a --max-response of `maxMessageBytes`, when given. */
function limited(spec: BackendSpec, maxMessageBytes: number | undefined): BackendSpec {
  return maxMessageBytes === undefined ? spec : { ...spec, limits: { maxResponseBytes: maxMessageBytes } };
}

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

function overHttp(mode: "streamableHttp" | "sse", transport: "streamable-http" | "sse", path: string): () => Promise<TransportUnderTest> {
  return async () => {
    const shared = await startEverythingHttp(mode);
    const dedicated: StartedProcess[] = [];
    const spec = (port: number, maxMessageBytes?: number) =>
      limited(backendSpec({ name: "everything", url: `http://127.0.0.1:${port}${path}`, transport }), maxMessageBytes);
    return {
      async open(options = {}) {
        if (!options.dedicated) {
          const crash = () => Promise.reject(new Error("crash() needs a dedicated backend"));
          return { transport: transportOf(spec(shared.port, options.maxMessageBytes)), crash };
        }
        const own = await startEverythingHttp(mode);
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
