import type { Server } from "bun";
import { McpgwError, describeError } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import type { GatewayApp } from "./gateway-app.ts";

export interface ListenOptions {
  host: string;
  port: number;
  logger: Logger;
}

export interface Listener {
  readonly url: URL;
  /** Stops accepting, lets in-flight requests finish for up to `drainMs`, then closes what is left. */
  stop(drainMs: number): Promise<void>;
}

/** Serves the app with Bun.serve. */
export function listen(app: GatewayApp, options: ListenOptions): Listener {
  let server: Server<undefined>;
  try {
    server = Bun.serve({
      hostname: options.host,
      port: options.port,
      fetch: (request, bunServer) => {
        // MCP streams (SSE) may stay quiet for long: no idle timeout on them; other routes keep Bun's 10 s.
        if (request.url.includes("/mcp")) bunServer.timeout(request, 0);
        return app.fetch(request);
      },
      error(err) {
        options.logger.error({ err }, "unhandled error in request");
        return Response.json({ error: "internal error" }, { status: 500 });
      },
    });
  } catch (err) {
    const inUse = /in use|EADDRINUSE/i.test(describeError(err));
    throw new McpgwError(
      `cannot listen on ${options.host}:${options.port}: ${describeError(err)}`,
      inUse ? "another process has that port: pass --port (or MCPGW_PORT) to use another" : "check --host and --port",
      { cause: err },
    );
  }
  return {
    url: server.url,
    async stop(drainMs) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const drained = server.stop(false).then(() => true);
      const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), drainMs)));
      const clean = await Promise.race([drained, timedOut]);
      clearTimeout(timer);
      if (!clean) {
        options.logger.warn({ drainMs, pending: server.pendingRequests }, "drain bound reached: closing remaining connections");
        await server.stop(true);
      }
    },
  };
}
