import { existsSync } from "node:fs";
import type { Settings } from "../config/settings.ts";
import { StoreUnavailableError, describeError } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import { parseDatabaseUrl, redactUrl } from "../store/database-url.ts";
import { loadMigrations } from "../store/migrations.ts";
import { openStore } from "../store/open-store.ts";
import type { Store } from "../store/store.ts";
import { type CheckResult, ok, problem, problemFrom, warning } from "./check-result.ts";

const PING_TIMEOUT_MS = 5_000;
/** Beyond this the clocks disagree enough to notice in logs and limits; beyond the JWT skew tolerance, tokens break. */
const CLOCK_WARNING_MS = 2_000;
const CLOCK_FIX = "sync this machine's clock and the database server's with NTP (e.g. timedatectl set-ntp true, or chronyc makestep)";

/**
 * Opens the database without creating or migrating anything and checks that it answers. A
 * SQLite file that does not exist is reported, not created (opening it would create it).
 */
export async function checkDatabase(settings: Settings, logger: Logger): Promise<{ result: CheckResult; store?: Store }> {
  const where = redactUrl(settings.databaseUrl);
  let store: Store;
  try {
    const target = parseDatabaseUrl(settings.databaseUrl);
    if (target.kind === "sqlite" && target.path !== ":memory:" && !existsSync(target.path)) {
      return {
        result: problem(
          "database",
          `the SQLite file ${target.path} does not exist (database ${where})`,
          `set mcpgw up here with: mcpgw init; or point --db / MCPGW_DATABASE_URL at the right file (mcpgw migrate creates an empty database)`,
        ),
      };
    }
    store = openStore(settings.databaseUrl, { poolSize: 2, logger, ...(settings.migrationsDir !== undefined && { migrationsDir: settings.migrationsDir }) });
  } catch (err) {
    return { result: problemFrom("database", err, "fix --db / MCPGW_DATABASE_URL") };
  }
  const started = performance.now();
  try {
    await withTimeout(store.ping(), PING_TIMEOUT_MS, `${store.location} did not answer within ${PING_TIMEOUT_MS / 1_000}s`);
  } catch (err) {
    await store.close().catch(() => undefined);
    return { result: problemFrom("database", err, "check that the database is running and that --db / MCPGW_DATABASE_URL points at it") };
  }
  return { result: ok("database", `${store.location} answers (${Math.round(performance.now() - started)} ms)`), store };
}

/** Every migration this mcpgw knows is applied (the doctor never applies them itself). */
export async function checkMigrations(store: Store, settings: Settings): Promise<CheckResult> {
  try {
    const status = await store.migrationStatus();
    if (status.pending.length > 0) {
      const total = status.applied.length + status.pending.length;
      return problem(
        "migrations",
        `${status.pending.length} of ${total} migrations are not applied to ${store.location}: ${status.pending.join(", ")}`,
        `mcpgw migrate${settings.databaseUrl.startsWith("postgres") ? " (once, from one machine; serve migrates PostgreSQL only with MCPGW_MIGRATE=on)" : ""}`,
      );
    }
    const known = new Set(loadMigrations(store.dialect, settings.migrationsDir).map((migration) => migration.name));
    const unknown = status.applied.filter((name) => !known.has(name));
    if (unknown.length > 0) {
      return warning(
        "migrations",
        `the database has migrations this mcpgw does not know (${unknown.join(", ")}): a newer mcpgw set it up`,
        "upgrade this mcpgw to the version the other gateways run",
      );
    }
    return ok("migrations", `all ${status.applied.length} migrations applied`);
  } catch (err) {
    return problemFrom("migrations", err, "check the database, then run mcpgw migrate");
  }
}

/**
 * Compares this machine's clock with the PostgreSQL server's now(): gateways on several machines
 * share limits, audit order and token lifetimes through it. SQLite runs in this process, so there
 * is no second clock to compare.
 */
export async function checkClock(settings: Settings): Promise<CheckResult> {
  const target = parseDatabaseUrl(settings.databaseUrl);
  if (target.kind === "sqlite") return { check: "clock", status: "skipped", detail: "SQLite runs in this process: no second clock to compare" };
  const client = new Bun.SQL(target.connectionString, { max: 1, connectionTimeout: PING_TIMEOUT_MS / 1_000 });
  try {
    // A first query opens the connection, so the round trip timed below is one query's alone.
    await client.unsafe("SELECT 1").simple();
    const before = Date.now();
    const [row] = (await client.unsafe("SELECT now() AS now").simple()) as { now: Date }[];
    const after = Date.now();
    // The server read its clock somewhere in the round trip: compare with the middle of it.
    const skewMs = row!.now.getTime() - (before + after) / 2;
    const uncertainty = Math.ceil((after - before) / 2);
    const described = `this machine's clock is ${Math.abs(Math.round(skewMs))} ms ${skewMs > 0 ? "behind" : "ahead of"} the database server's (±${uncertainty} ms)`;
    const toleranceMs = settings.auth.clockSkewSec * 1_000;
    if (Math.abs(skewMs) - uncertainty > toleranceMs) {
      return problem(
        "clock",
        `${described}: more than the ${settings.auth.clockSkewSec}s tokens are allowed, so tokens issued here may be refused elsewhere`,
        CLOCK_FIX,
      );
    }
    if (Math.abs(skewMs) - uncertainty > CLOCK_WARNING_MS) return warning("clock", described, CLOCK_FIX);
    return ok("clock", described);
  } catch (err) {
    return problemFrom(
      "clock",
      new StoreUnavailableError(`cannot read the database server's clock: ${describeError(err)}`),
      "check that the database is reachable",
    );
  } finally {
    await client.close().catch(() => undefined);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreUnavailableError(message, "check that the database server is running and reachable from here")), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
