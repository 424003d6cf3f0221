import { type StoreFixture, postgresStoreFixture, sqliteStoreFixture } from "./store-fixtures.ts";

/** A migrated store for the audit suites, with raw SQL on the same database to tamper with it. */
export type AuditStoreFixture = StoreFixture;

export type AuditStoreSetup = () => Promise<AuditStoreFixture | undefined>;

export async function sqliteAuditStore(): Promise<AuditStoreFixture> {
  const fixture = await sqliteStoreFixture("audit");
  await fixture.store.migrate();
  return fixture;
}

export async function postgresAuditStore(): Promise<AuditStoreFixture | undefined> {
  const fixture = await postgresStoreFixture("audit");
  await fixture?.store.migrate();
  return fixture;
}

/** Both stores, for suites that run the same tests on each. */
export const AUDIT_STORES: [string, AuditStoreSetup][] = [
  ["sqlite", sqliteAuditStore],
  ["postgres", postgresAuditStore],
];
