import { gcraRate } from "./gcra.ts";
import type { LimitCounter } from "./limit-repository.ts";
import type { LimitRule } from "./limit-rule.ts";

/**
 * What each rate-limit rule's buckets hold now (GET /v1/admin/limits/usage), read from the shared
 * GCRA counters in the store. A global rule has one bucket (key "*"); a subject rule one, for its
 * subject; a role rule one per subject of the role that has spent from it. Calls a gateway leased
 * and has not spent yet count as used (at most 1/20 of the burst per gateway, for at most a second).
 */

/** One bucket of one rule. */
export interface LimitBucketUsage {
  rule: LimitRule;
  /** The counted subject, or "*" for a global rule (and for a role rule no subject has spent from). */
  key: string;
  /** Calls of the burst spent and not refilled yet; null for a role rule no subject has spent from. */
  used: number | null;
  remaining: number | null;
  /** When the bucket is full again (ms since the epoch); null when it is full now. */
  resetsAt: number | null;
}

/** Every rule's buckets at `now`, in the rules' order (and by key within a rule). */
export function limitUsage(rules: readonly LimitRule[], counters: readonly LimitCounter[], now: number): LimitBucketUsage[] {
  const byKey = new Map(counters.map((counter) => [counter.key, counter.tat]));
  const usage: LimitBucketUsage[] = [];
  for (const rule of rules) {
    if (rule.scope === "global") {
      usage.push(bucket(rule, "*", byKey.get(rule.id), now));
    } else if (rule.scope === "subject") {
      const subject = rule.scopeValue ?? "";
      usage.push(bucket(rule, subject, byKey.get(`${rule.id}:${subject}`), now));
    } else {
      const prefix = `${rule.id}:`;
      const spent = counters.filter((counter) => counter.key.startsWith(prefix));
      if (spent.length === 0) usage.push({ rule, key: "*", used: null, remaining: null, resetsAt: null });
      for (const counter of spent) usage.push(bucket(rule, counter.key.slice(prefix.length), counter.tat, now));
    }
  }
  return usage;
}

/** A bucket whose TAT is `tat` (undefined: never spent), read as gcraTake reads it: what fits now is what remains. */
function bucket(rule: LimitRule, key: string, tat: number | undefined, now: number): LimitBucketUsage {
  if (tat === undefined || tat <= now) return { rule, key, used: 0, remaining: rule.burst, resetsAt: null };
  const { intervalMs, burst } = gcraRate(rule.count, rule.periodMs, rule.burst);
  const remaining = Math.max(0, Math.min(burst, Math.floor(burst - (tat - now) / intervalMs + 1e-9)));
  return { rule, key, used: burst - remaining, remaining, resetsAt: tat };
}
