import type { CommandContext } from "../context.ts";
import { printJson } from "../output.ts";

/** `mcpgw migrate`: applies pending migrations and says what it did. */
export async function runMigrate(context: CommandContext, options: { json?: boolean }): Promise<void> {
  // Not withStore: that migrates silently first, and here the migration is what we report.
  const store = context.openStore({ create: true });
  try {
    const applied = await store.migrate();
    const status = await store.migrationStatus();
    if (options.json) return printJson({ database: store.location, applied, current: status.applied });
    if (applied.length === 0) console.log(`${store.location}: up to date (${status.applied.length} migration${status.applied.length === 1 ? "" : "s"})`);
    else for (const name of applied) console.log(`${store.location}: applied ${name}`);
  } finally {
    await store.close().catch(() => undefined);
  }
}
