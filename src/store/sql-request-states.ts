import type { SqlDriver } from "./sql-driver.ts";
import type { SpentRequestStates } from "./store.ts";

/** How many spends pass between two sweeps of rows whose states have expired anyway. */
const SWEEP_EVERY = 256;

export class SqlSpentRequestStates implements SpentRequestStates {
  private spends = 0;

  constructor(private readonly driver: SqlDriver) {}

  async spend(id: string, expiresAt: number): Promise<boolean> {
    if (++this.spends % SWEEP_EVERY === 0) await this.driver.execute("DELETE FROM request_states_spent WHERE expires_at < $1", [Date.now()]);
    // ON CONFLICT DO NOTHING on both dialects: the row count says whether this spend was the first.
    const inserted = await this.driver.execute("INSERT INTO request_states_spent (id, expires_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING", [
      id,
      expiresAt,
    ]);
    return inserted === 1;
  }
}
