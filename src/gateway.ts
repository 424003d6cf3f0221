import { BackendPool } from "./backends/backend-pool.ts";
import { BackendRegistry } from "./backends/backend-registry.ts";
import type { Settings } from "./config/settings.ts";
import { LogAuditor } from "./audit/log-auditor.ts";
import { McpHttpFront } from "./front/mcp-http-front.ts";
import { createPipeline } from "./pipeline/pipeline.ts";
import { PolicyEngine } from "./policy/policy-engine.ts";
import { ChangeWatcher } from "./store/change-watcher.ts";
import { createOriginGuard } from "./front/origin-guard.ts";
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

/**
 * The composition root of `mcpgw serve`: opens and migrates the store, loads the backends,
 * builds the MCP front and the app, listens. `env` is the gateway's environment, the source of
 * backends' ${VAR} references and of stdio backends' inherited variables.
 */
export async function startGateway(settings: Settings, logger: Logger, version: string, env: Record<string, string | undefined>): Promise<RunningGateway> {
  const store = openStore(settings.databaseUrl, {
    poolSize: settings.dbPoolSize,
    logger,
    ...(settings.migrationsDir !== undefined && { migrationsDir: settings.migrationsDir }),
  });
  const watcher = new ChangeWatcher(store, logger);
  const registry = new BackendRegistry(store, logger, watcher);
  const policy = new PolicyEngine(store, logger, watcher);
  const pool = new BackendPool({ env, logger, version });
  let listener: Listener;
  let mcp: McpHttpFront;
  try {
    const applied = await store.migrate();
    if (applied.length > 0) logger.info({ applied }, "applied migrations");
    await watcher.start();
    // A changed or removed backend's shared connection closes; sessions reconnect to the new spec on next use.
    registry.onChange((changed, removed) => {
      for (const name of [...changed.map((spec) => spec.name), ...removed]) void pool.forget(name);
    });
    mcp = new McpHttpFront({
      registry,
      pool,
      logger,
      version,
      pipeline: createPipeline({ auditor: new LogAuditor(logger), policy }),
      maxBodyBytes: settings.maxBodyBytes,
      sessionIdleMs: settings.sessionIdleMs,
      originGuard: createOriginGuard({ allowedHosts: settings.allowedHosts, allowedOrigins: settings.allowedOrigins }),
    });
    listener = listen(createGatewayApp({ store, logger, version, mcp }), { host: settings.host, port: settings.port, logger });
  } catch (err) {
    watcher.stop();
    await store.close().catch(() => undefined);
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    url: listener.url,
    store,
    shutdown() {
      stopping ??= (async () => {
        const draining = listener.stop(settings.shutdownTimeoutMs);
        mcp.closeStandaloneStreams();
        await draining;
        await mcp.closeAll();
        await pool.closeAll();
        watcher.stop();
        await store.close();
      })();
      return stopping;
    },
  };
}
