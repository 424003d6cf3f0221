import type { FlagSettings, Settings } from "../config/settings.ts";
import type { Logger } from "../log/logger.ts";
import { redactUrl } from "../store/database-url.ts";
import { type CheckResult, skipped } from "./check-result.ts";
import { checkConfiguration } from "./configuration-check.ts";
import { checkClock, checkDatabase, checkMigrations } from "./database-checks.ts";
import { checkAccessReferences } from "./access-checks.ts";
import { checkBackends, checkSigningKeys } from "./store-checks.ts";

/** The checks of what roles and tokens refer to (access-checks.ts), named for when they are skipped. */
const ACCESS_CHECKS = ["role patterns", "token roles", "admin tokens"];

export interface DoctorInput {
  flags: FlagSettings;
  /** The working directory, whose .env is read as the gateway would read it. */
  cwd: string;
  /** The real environment (process.env). */
  env: Record<string, string | undefined>;
  /** A logger for the database driver and backend probes, given the settings once they resolve. */
  logger(settings: Settings | undefined): Logger;
  clientVersion: string;
}

export interface DoctorReport {
  /** No check found a problem (warnings allowed). */
  ok: boolean;
  /** The database as logs show it (password hidden), when the settings resolved. */
  database?: string;
  checks: CheckResult[];
}

/**
 * Runs every check in order, each depending only on those before it: configuration → database →
 * migrations → signing keys, backends and what roles and tokens refer to, plus the clock. A check that cannot run because an
 * earlier one failed is reported as skipped with the reason. Reads only: nothing is created,
 * migrated or changed (a missing migration is reported, with `mcpgw migrate` as the fix).
 */
export async function runDoctor(input: DoctorInput): Promise<DoctorReport> {
  const configuration = checkConfiguration(input.flags, input.cwd, input.env);
  const checks = [...configuration.results];
  const { settings, environment } = configuration;
  if (!settings || !environment) {
    checks.push(
      ...["database", "migrations", "signing keys", "backends", ...ACCESS_CHECKS, "clock"].map((check) =>
        skipped(check, "needs a configuration that resolves"),
      ),
    );
    return report(checks);
  }
  const logger = input.logger(settings);
  const database = await checkDatabase(settings, logger);
  checks.push(database.result);
  const store = database.store;
  if (!store) {
    checks.push(...["migrations", "signing keys", "backends", ...ACCESS_CHECKS, "clock"].map((check) => skipped(check, "needs a database that answers")));
    return report(checks, settings);
  }
  try {
    const migrations = await checkMigrations(store, settings);
    checks.push(migrations);
    if (migrations.status === "problem") {
      checks.push(...["signing keys", "backends", ...ACCESS_CHECKS].map((check) => skipped(check, "needs the migrations applied")));
    } else {
      checks.push(await checkSigningKeys(store, settings));
      // The store stays open while backends are probed: the doctor is one short-lived process.
      checks.push(...(await checkBackends(store, { environment, logger, clientVersion: input.clientVersion, secretKeys: settings.secretKeys })));
      checks.push(...(await checkAccessReferences(store)));
    }
    checks.push(await checkClock(settings));
    return report(checks, settings, store.location);
  } finally {
    await store.close().catch(() => undefined);
  }
}

function report(checks: CheckResult[], settings?: Settings, location?: string): DoctorReport {
  const database = location ?? (settings && redactUrl(settings.databaseUrl));
  return { ok: checks.every((check) => check.status !== "problem"), ...(database !== undefined && { database }), checks };
}
