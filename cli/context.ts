import type { Command } from "commander";
import { readEnv } from "../src/config/env.ts";
import { type FlagSettings, type Settings, resolveSettings } from "../src/config/settings.ts";
import { type Logger, createLogger } from "../src/log/logger.ts";
import { openStore } from "../src/store/open-store.ts";
import type { Store } from "../src/store/store.ts";

/** What every command gets: merged settings and a way to open the store and a logger. */
export interface CommandContext {
  settings: Settings;
  /** The log level was given explicitly (flag or MCPGW_LOG_LEVEL). */
  logLevelGiven: boolean;
  /** A logger for admin commands: stderr, so stdout stays clean for tables and --json. */
  adminLogger(): Logger;
  openStore(): Store;
}

/** Builds the context from a command's own and global flags plus the MCPGW_* environment. */
export function commandContext(command: Command): CommandContext {
  const flags = command.optsWithGlobals<FlagSettings>();
  const env = readEnv();
  const settings = resolveSettings(flags, env);
  const logLevelGiven = flags.logLevel !== undefined || env.logLevel !== undefined;
  const adminLogger = () => createLogger({ level: logLevelGiven ? settings.logLevel : "warn", fd: 2, pretty: process.stderr.isTTY });
  return {
    settings,
    logLevelGiven,
    adminLogger,
    openStore: () =>
      openStore(settings.databaseUrl, {
        poolSize: settings.dbPoolSize,
        logger: adminLogger(),
        ...(settings.migrationsDir !== undefined && { migrationsDir: settings.migrationsDir }),
      }),
  };
}

/**
 * Runs fn with an open, migrated store and always closes it. Admin commands migrate first, as
 * serve does, so `mcpgw backend add` works on a fresh database; when already current this is one query.
 */
export async function withStore<T>(context: CommandContext, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = context.openStore();
  try {
    await store.migrate();
    return await fn(store);
  } finally {
    await store.close().catch(() => undefined);
  }
}
