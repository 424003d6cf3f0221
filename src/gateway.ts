import type { Settings } from "./config/settings.ts";
import type { Logger } from "./log/logger.ts";
import { createGatewayApp } from "./server/gateway-app.ts";
import { type Listener, listen } from "./server/http-listener.ts";
import { openStore } from "./store/open-store.ts";
import type { Store } from "./store/store.ts";

export interface RunningGateway {
  readonly url: URL;
  readonly store: Store;
  /** Graceful stop: no new requests, in-flight ones drained up to the configured bound, store closed. */
  shutdown(): Promise<void>;
}

/** The composition root of `mcpgw serve`: opens and migrates the store, builds the app, listens. */
export async function startGateway(settings: Settings, logger: Logger, version: string): Promise<RunningGateway> {
  const store = openStore(settings.databaseUrl, {
    poolSize: settings.dbPoolSize,
    logger,
    ...(settings.migrationsDir !== undefined && { migrationsDir: settings.migrationsDir }),
  });
  let listener: Listener;
  try {
    const applied = await store.migrate();
    if (applied.length > 0) logger.info({ applied }, "applied migrations");
    listener = listen(createGatewayApp({ store, logger, version }), { host: settings.host, port: settings.port, logger });
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    url: listener.url,
    store,
    shutdown() {
      stopping ??= (async () => {
        await listener.stop(settings.shutdownTimeoutMs);
        await store.close();
      })();
      return stopping;
    },
  };
}
