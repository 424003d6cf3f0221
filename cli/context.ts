import type { Command } from "commander";
import { readEnv } from "../src/config/env.ts";
import { type FlagSettings, type Settings, resolveSettings } from "../src/config/settings.ts";
import { type Logger, createLogger } from "../src/log/logger.ts";
import { openStore } from "../src/store/open-store.ts";
import { assertSchemaCurrent } from "../src/store/schema-check.ts";
import type { Store } from "../src/store/store.ts";

/** What every command gets: merged settings and a way to open the store and a logger. */
export interface CommandContext {
  settings: Settings;
  /** The log level was given explicitly (flag or MCPGW_LOG_LEVEL). */
  logLevelGiven: boolean;
  /** A logger for admin commands: stderr, so stdout stays clean for tables and --json. */
  adminLogger(): Logger;
  /** Opens the store; `create` lets opening create the database (only for commands that set one up). */
  openStore(options?: { create?: boolean }): Store;
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
    openStore: (options = {}) =>
      openStore(settings.databaseUrl, {
        poolSize: settings.dbPoolSize,
        logger: adminLogger(),
        create: options.create ?? false,
        ...(settings.migrationsDir !== undefined && { migrationsDir: settings.migrationsDir }),
      }),
  };
}

/**
 * Runs fn with an open store and always closes it. The database must exist with the schema this
 * binary knows (a SchemaError saying what to do otherwise): commands neither create databases nor
 * migrate them, so a typo in --db cannot make a new one and a newer CLI cannot change the schema
 * under running gateways. Only what sets a database up passes `setUp` (a real `apply`): it creates
 * and migrates as `mcpgw migrate` would.
 */
export async function withStore<T>(context: CommandContext, fn: (store: Store) => Promise<T>, options: { setUp?: boolean } = {}): Promise<T> {
  const store = context.openStore({ create: options.setUp === true });
  try {
    if (options.setUp) await store.migrate();
    else await assertSchemaCurrent(store);
    return await fn(store);
  } finally {
    await store.close().catch(() => undefined);
  }
}
