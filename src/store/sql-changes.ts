import { CHANGE_TOPICS, type ChangeCounter, type ChangeTopic } from "./store.ts";
import type { SqlDriver, SqlExecutor } from "./sql-driver.ts";

/** Postgres channel that carries a topic name whenever its version moves. */
export const CHANGE_CHANNEL = "mcpgw_changes";

/** Bumps a topic inside the caller's transaction, so the change and its signal commit together. */
export async function bumpChange(driver: SqlDriver, tx: SqlExecutor, topic: ChangeTopic): Promise<void> {
  await tx.execute("UPDATE changes SET version = version + 1 WHERE topic = $1", [topic]);
  // NOTIFY is transactional: listeners hear it only if the transaction commits.
  if (driver.dialect === "postgres") await tx.execute("SELECT pg_notify($1, $2)", [CHANGE_CHANNEL, topic]);
}

export class SqlChangeCounter implements ChangeCounter {
  constructor(private readonly driver: SqlDriver) {}

  async versions(): Promise<Record<ChangeTopic, number>> {
    const rows = await this.driver.query<{ topic: string; version: number }>("SELECT topic, version FROM changes");
    const versions = Object.fromEntries(CHANGE_TOPICS.map((topic) => [topic, 0])) as Record<ChangeTopic, number>;
    for (const row of rows) if ((CHANGE_TOPICS as readonly string[]).includes(row.topic)) versions[row.topic as ChangeTopic] = row.version;
    return versions;
  }
}
