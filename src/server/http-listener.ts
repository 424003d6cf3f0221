import type { Server } from "bun";
import { McpgwError, describeError } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import type { GatewayApp } from "./gateway-app.ts";

export interface ListenOptions {
  host: string;
  port: number;
  logger: Logger;
}

/** After the drain bound, how long the calls cancelled by it get to have their answers written. */
const ANSWER_GRACE_MS = 500;

export interface Listener {
  readonly url: URL;
  /**
   * Stops taking requests and waits up to `drainMs` for those in flight; past the bound,
   * `onDrainBound` runs (it answers what is left: it should make in-flight requests end) and
   * connections still open are closed after ANSWER_GRACE_MS.
   */
  stop(drainMs: number, onDrainBound?: () => void): Promise<void>;
  /** The address a request being served came from (asked only when needed: a 401's accounting). */
  peerOf(request: Request): string | undefined;
}

/** The gateway could not take its address (in use, not this host's): `serve` logs it as one line. */
export class ListenError extends McpgwError {}

/** Serves the app with Bun.serve. */
export function listen(app: GatewayApp, options: ListenOptions): Listener {
  let server: Server<undefined>;
  try {
    server = Bun.serve({
      hostname: options.host,
      port: options.port,
      fetch: (request, bunServer) => {
        // MCP streams and the admin API's live stream of calls (SSE) may stay quiet for long (the
        // latter's keepalive comes every 15 s): no idle timeout on them; other routes keep Bun's 10 s.
        if (request.url.includes("/mcp") || request.url.includes("/v1/admin/calls/stream")) bunServer.timeout(request, 0);
        return app.fetch(request);
      },
      error(err) {
        options.logger.error({ err }, "unhandled error in request");
        return Response.json({ error: "internal error" }, { status: 500 });
      },
    });
  } catch (err) {
    const inUse = /in use|EADDRINUSE/i.test(describeError(err));
    throw new ListenError(
      `cannot listen on ${options.host}:${options.port}: ${describeError(err)}`,
      inUse ? "another process has that port: pass --port (or MCPGW_PORT) to use another" : "check --host and --port",
      { cause: err },
    );
  }
  return {
    url: server.url,
    peerOf: (request) => server.requestIP(request)?.address,
    async stop(drainMs, onDrainBound) {
      const drained = server.stop(false).then(() => true);
      const clean = await settledWithin(drained, drainMs);
      if (!clean) {
        options.logger.warn(
          { drainMs, pending: server.pendingRequests },
          "drain bound reached: cancelling the calls in flight, then closing remaining connections",
        );
        onDrainBound?.();
        // The cancelled calls' answers (errors that name the shutdown) are written before the connections close.
        await settledWithin(drained, ANSWER_GRACE_MS);
        await server.stop(true);
      }
    },
  };
}

/**
 * Whether `promise` settled (true) within `ms` (false). The timer is cleared when it did: a
 * pending Bun.sleep kept a stopped gateway's process alive for the whole drain bound
 * (MCPGW_SHUTDOWN_TIMEOUT, 10 s) after "stopped", however quickly it had drained.
 */
async function settledWithin(promise: Promise<boolean>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise, bound]);
  } finally {
    clearTimeout(timer);
  }
}
