import { join } from "node:path";
import { REPO_ROOT } from "./cli.ts";
import { BUN } from "./gateway.ts";
import { startProcess } from "./process.ts";

export interface SlowClientsEnded {
  /** How long each connection stayed open, ms. */
  openMs: number[];
  /** Whether every one was answered 408. */
  all408: boolean;
  /** What the first connection received. */
  firstAnswer: string;
}

/**
 * Opens `count` connections to `url` that drip a 1,000-byte body one byte every `everyMs` (100 ms), from a process of
 * their own (test/fixtures/drip-clients.ts): a gateway run in this thread is not charged their writes. Resolves once all are open.
 */
export async function startSlowClients(url: URL, count: number, everyMs = 100): Promise<{ ended(): Promise<SlowClientsEnded> }> {
  const drips = await startProcess([BUN, join(REPO_ROOT, "test/fixtures/drip-clients.ts"), url.href, String(count), "1000", String(everyMs)], /dripping/);
  return {
    async ended() {
      const code = await drips.exited;
      if (code !== 0) throw new Error(`drip-clients exited with ${code}: ${drips.output()}`);
      return JSON.parse(drips.output().trim().split("\n").at(-1)!) as SlowClientsEnded;
    },
  };
}
