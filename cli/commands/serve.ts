import { startGateway } from "../../src/gateway.ts";
import { createLogger } from "../../src/log/logger.ts";
import { ListenError } from "../../src/server/http-listener.ts";
import { ReportedError } from "../report-error.ts";
import type { CommandContext } from "../context.ts";
import { VERSION } from "../version.ts";

/** `mcpgw serve`: runs the gateway until SIGTERM or SIGINT, then shuts down gracefully. */
export async function runServe(context: CommandContext): Promise<void> {
  const { settings } = context;
  const logger = createLogger({ level: settings.logLevel, fd: 1, pretty: process.stdout.isTTY });
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  try {
    gateway = await startGateway(settings, logger, VERSION, process.env);
  } catch (err) {
    if (!(err instanceof ListenError)) throw err;
    // The address is taken (or not this host's): one log line that log collectors parse, no stack.
    logger.fatal({ ...(err.hint !== undefined && { hint: err.hint }) }, `cannot start: ${err.message}`);
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    throw new ReportedError(err.exitCode);
  }
  logger.info({ url: gateway.url.href, database: gateway.store.location, version: VERSION }, "mcpgw listening");
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  logger.info({ signal, drainMs: settings.shutdownTimeoutMs }, "shutting down");
  await gateway.shutdown();
  logger.info("stopped");
  // stdout is written asynchronously (sonic-boom): without a flush, a busy gateway's last lines
  // ("shutting down", "stopped", the last calls) were lost at exit.
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
}
