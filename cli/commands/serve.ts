import { startGateway } from "../../src/gateway.ts";
import { createLogger } from "../../src/log/logger.ts";
import type { CommandContext } from "../context.ts";
import { VERSION } from "../version.ts";

/** `mcpgw serve`: runs the gateway until SIGTERM or SIGINT, then shuts down gracefully. */
export async function runServe(context: CommandContext): Promise<void> {
  const { settings } = context;
  const logger = createLogger({ level: settings.logLevel, fd: 1, pretty: process.stdout.isTTY });
  const gateway = await startGateway(settings, logger, VERSION, process.env);
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
