/**
 * The one module that reads MCPGW_* variables. Everything else receives settings from here
 * (through `resolveSettings`), so the full list of variables is this file and example.env.
 * Nothing is read at import time: callers pass the environment in.
 */
export interface EnvSettings {
  databaseUrl?: string;
  host?: string;
  port?: string;
  logLevel?: string;
  shutdownTimeout?: string;
  dbPoolSize?: string;
  migrationsDir?: string;
  testPostgresUrl?: string;
  allowedHosts?: string;
  allowedOrigins?: string;
  sessionIdleTimeout?: string;
  maxBodyBytes?: string;
}

const VARIABLES = {
  databaseUrl: "MCPGW_DATABASE_URL",
  host: "MCPGW_HOST",
  port: "MCPGW_PORT",
  logLevel: "MCPGW_LOG_LEVEL",
  shutdownTimeout: "MCPGW_SHUTDOWN_TIMEOUT",
  dbPoolSize: "MCPGW_DB_POOL_SIZE",
  migrationsDir: "MCPGW_MIGRATIONS_DIR",
  testPostgresUrl: "MCPGW_TEST_PG_URL",
  allowedHosts: "MCPGW_ALLOWED_HOSTS",
  allowedOrigins: "MCPGW_ALLOWED_ORIGINS",
  sessionIdleTimeout: "MCPGW_SESSION_IDLE_TIMEOUT",
  maxBodyBytes: "MCPGW_MAX_BODY_BYTES",
} as const satisfies Record<keyof EnvSettings, `MCPGW_${string}`>;

/** The variable name behind a setting, for error messages ("set MCPGW_PORT …"). */
export function variableName(key: keyof EnvSettings): string {
  return VARIABLES[key];
}

/** Reads every MCPGW_* variable this program knows; empty values count as unset. */
export function readEnv(env: Record<string, string | undefined> = process.env): EnvSettings {
  const settings: EnvSettings = {};
  for (const [key, name] of Object.entries(VARIABLES) as [keyof EnvSettings, string][]) {
    const value = env[name];
    if (value !== undefined && value !== "") settings[key] = value;
  }
  return settings;
}
