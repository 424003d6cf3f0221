import type { AuditFilter, AuditRow } from "./audit-record.ts";
import type { AuditRepository } from "./audit-repository.ts";

const PAGE = 500;

/** Where following starts: each chain's head now (records finalised after it are new). */
export type FollowCursors = Map<string, number>;

export async function currentHeads(repo: AuditRepository): Promise<FollowCursors> {
  return new Map((await repo.chains()).map((chain) => [chain.chainId, chain.headSeq]));
}

/**
 * Records as they become final (outcome committed, or a refusal), from every chain, after the
 * given heads; polls every `pollMs` until `signal` aborts. The cursor is each chain's position,
 * not a clock: a chain commits in order and moves its head in the same transaction, so nothing
 * committed is skipped or repeated, whatever the replicas' clocks say. A chain that appears
 * later (a new gateway process) is followed from its start.
 */
export async function* followRecords(
  repo: AuditRepository,
  filter: AuditFilter,
  cursors: FollowCursors,
  options: { pollMs: number; signal: AbortSignal },
): AsyncGenerator<AuditRow> {
  while (!options.signal.aborted) {
    let more = false;
    for (const chain of await repo.chains()) {
      const from = cursors.get(chain.chainId) ?? 0;
      if (chain.headSeq <= from) continue;
      const page = await repo.finalizedAfter(chain.chainId, from, filter, PAGE);
      for (const { row } of page) yield row;
      // Everything up to the head read above is committed and was scanned (filtered or not).
      const last = page.at(-1)?.pos ?? from;
      cursors.set(chain.chainId, page.length === PAGE ? last : Math.max(chain.headSeq, last));
      if (page.length === PAGE) more = true;
    }
    if (!more) await sleep(options.pollMs, options.signal);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
