import { SchemaError } from "../errors.ts";
import type { Store } from "./store.ts";

/** There is no mcpgw database at `location`. */
export function noDatabase(location: string): SchemaError {
  return new SchemaError(
    `no mcpgw database at ${location}`,
    "set one up with mcpgw init (or create its tables with mcpgw migrate), or point --db / MCPGW_DATABASE_URL at the database you meant",
  );
}

/**
 * Resolves when the store's schema is exactly the one this binary knows; a SchemaError that says
 * what to do otherwise. Commands that only use a database call this instead of migrating it: a
 * plain `role list` must never create a database, or change the schema under running gateways.
 * `allowNewer` (serve): a schema a newer binary migrated is accepted, and the migrations this one
 * does not know are returned; migrations keep the schema usable by the previous release, so old
 * replicas keep starting during a rolling upgrade.
 */
export async function assertSchemaCurrent(store: Store, options: { allowNewer?: boolean } = {}): Promise<string[]> {
  const status = await store.migrationStatus();
  if (status.applied.length === 0) throw noDatabase(store.location);
  if (status.unknown.length > 0 && !options.allowNewer) {
    throw new SchemaError(
      `the schema of ${store.location} is newer than this binary (migrations it does not know: ${status.unknown.join(", ")})`,
      "use the mcpgw version that migrated it (mcpgw --version shows this one's), or upgrade this one",
    );
  }
  if (status.pending.length > 0) {
    throw new SchemaError(
      `the schema of ${store.location} is older than this binary (${status.pending.length} migration${status.pending.length === 1 ? "" : "s"} not applied: ${status.pending.join(", ")})`,
      "run mcpgw migrate (on PostgreSQL once, from one machine, when the gateways can take the new schema)",
    );
  }
  return status.unknown;
}
