import type { GcraRate, GcraTake } from "./gcra.ts";
import type { LimitRule } from "./limit-rule.ts";

/** What `limit set` did: the rule in force now, and the rules of the same scope it replaced. */
export interface LimitSetOutcome {
  rule: LimitRule;
  replaced: LimitRule[];
}

/** One shared GCRA bucket as stored: its key (`<rule id>` for a global rule, `<rule id>:<subject>` otherwise) and TAT. */
export interface LimitCounter {
  key: string;
  /** The bucket's theoretical arrival time (ms since the epoch): full again from then on. */
  tat: number;
}

export interface LimitRepository {
  add(rule: LimitRule): Promise<void>;
  /**
   * Adds a rule, or replaces the rules with the same scope (whom, tool and period: a per-minute
   * rate and a per-day quota of one subject are two rules). A replaced rule keeps the oldest
   * one's id and its counters (what was spent stays spent); further duplicates are removed.
   */
  set(rule: LimitRule): Promise<LimitSetOutcome>;
  /**
   * Changes a rule's rate and burst, keeping its id, scope and counters; NotFoundError when there
   * is none, ConflictError when the new period makes it a duplicate of another rule.
   */
  update(id: string, change: Pick<LimitRule, "count" | "periodMs" | "burst">): Promise<LimitRule>;
  list(): Promise<LimitRule[]>;
  /** Removes a rule and its counters; NotFoundError when there is none. */
  remove(id: string): Promise<void>;
  /**
   * Atomically takes up to `want` calls from a shared GCRA bucket: the lease a gateway then
   * spends locally. Concurrent leases from any number of processes never grant more than fits.
   */
  lease(key: string, rate: GcraRate, want: number, now: number): Promise<GcraTake>;
  /**
   * The buckets not full at `now` (their TAT is later): what was spent (or leased) and has not
   * refilled yet, by key. A key absent here has its whole burst. Reads only; takes no lock.
   */
  spentCounters(now: number): Promise<LimitCounter[]>;
}
