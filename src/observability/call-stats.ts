import type { AuditContext, AuditOutcome, AuditStatus } from "../audit/auditor.ts";

/**
 * Calls and refusals per minute, and per backend its calls, errors and latency, kept in memory by
 * this process since it started (GET /v1/admin/stats): the data of the console's plots. Memory is
 * bounded whatever the traffic: a ring of MAX_MINUTES slots, each with at most MAX_BACKENDS
 * backends (the rest counted under OTHER_BACKENDS), each backend a fixed-bucket latency histogram,
 * so percentiles need no list of latencies. Recording a call is a few increments, no allocation
 * once its minute and backend have their slot.
 */

export const MAX_MINUTES = 180;
/** Backends per minute: a caller naming made-up backends must not grow the ring. */
const MAX_BACKENDS = 64;
export const OTHER_BACKENDS = "(other backends)";

/** Upper bounds (ms) of the latency buckets; a last, open bucket takes the rest. */
const BUCKET_BOUNDS_MS = [
  0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1_000, 1_500, 2_000, 3_000, 5_000, 7_500, 10_000, 15_000, 30_000, 60_000,
];

/**
 * Forwarded calls (they reached a backend, or were on their way: each has a latency) against
 * refusals (refused before forwarding, or by the definition guard at the connection). Errors of a
 * backend are its calls that did not end ok.
 */
const KIND_OF_STATUS = {
  ok: "call",
  error: "call",
  timeout: "call",
  cancelled: "call",
  incomplete: "call",
  denied: "refusal",
  rate_limited: "refusal",
  invalid: "refusal",
  unauthenticated: "refusal",
} as const satisfies Record<AuditStatus, "call" | "refusal">;

interface BackendMinute {
  calls: number;
  errors: number;
  /** Calls per latency bucket (BUCKET_BOUNDS_MS, then the open one). */
  histogram: Uint32Array;
  maxMs: number;
}

interface MinuteSlot {
  /** The minute (ms since the epoch / 60 000) the slot holds; -1 while unused. */
  minute: number;
  calls: number;
  refusals: number;
  backends: Map<string, BackendMinute>;
}

/** GET /v1/admin/stats's answer. */
export interface CallStatsView {
  since: string;
  minutes: { t: string; calls: number; refusals: number }[];
  backends: { backend: string; calls: number; errors: number; p50Ms: number | null; p90Ms: number | null; p99Ms: number | null }[];
}

export class CallStats {
  private readonly slots: MinuteSlot[] = Array.from({ length: MAX_MINUTES }, () => ({ minute: -1, calls: 0, refusals: 0, backends: new Map() }));
  private readonly startedAt: number;

  constructor(now = Date.now()) {
    this.startedAt = now;
  }

  /** Counts one call or refusal (a CallFeed listener). */
  readonly record = (context: AuditContext, outcome: AuditOutcome, latencyMs: number | undefined, at: number): void => {
    const slot = this.slotFor(Math.floor(at / 60_000));
    if (KIND_OF_STATUS[outcome.status] === "refusal" || latencyMs === undefined) {
      slot.refusals += 1;
      return;
    }
    slot.calls += 1;
    const backend = this.backendOf(slot, context.backend ?? "");
    backend.calls += 1;
    if (outcome.status !== "ok") backend.errors += 1;
    backend.histogram[bucketOf(latencyMs)]! += 1;
    if (latencyMs > backend.maxMs) backend.maxMs = latencyMs;
  };

  /** The last `minutes` minutes up to the one under way at `now`, oldest first, every minute present. */
  view(minutes: number, now = Date.now()): CallStatsView {
    const span = Math.max(1, Math.min(MAX_MINUTES, Math.floor(minutes)));
    const current = Math.floor(now / 60_000);
    const perMinute: CallStatsView["minutes"] = [];
    const totals = new Map<string, BackendMinute>();
    for (let minute = current - span + 1; minute <= current; minute++) {
      const slot = this.slots[minute % MAX_MINUTES]!;
      const held = slot.minute === minute;
      perMinute.push({ t: new Date(minute * 60_000).toISOString(), calls: held ? slot.calls : 0, refusals: held ? slot.refusals : 0 });
      if (!held) continue;
      for (const [name, counts] of slot.backends) {
        const total = totals.get(name) ?? { calls: 0, errors: 0, histogram: new Uint32Array(BUCKET_BOUNDS_MS.length + 1), maxMs: 0 };
        total.calls += counts.calls;
        total.errors += counts.errors;
        for (let i = 0; i < counts.histogram.length; i++) total.histogram[i]! += counts.histogram[i]!;
        total.maxMs = Math.max(total.maxMs, counts.maxMs);
        totals.set(name, total);
      }
    }
    const backends = [...totals]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([backend, total]) => ({
        backend,
        calls: total.calls,
        errors: total.errors,
        p50Ms: percentile(total, 0.5),
        p90Ms: percentile(total, 0.9),
        p99Ms: percentile(total, 0.99),
      }));
    return { since: new Date(this.startedAt).toISOString(), minutes: perMinute, backends };
  }

  private slotFor(minute: number): MinuteSlot {
    const slot = this.slots[minute % MAX_MINUTES]!;
    if (slot.minute !== minute) {
      // The slot held a minute MAX_MINUTES ago (or none): it starts over.
      slot.minute = minute;
      slot.calls = 0;
      slot.refusals = 0;
      slot.backends.clear();
    }
    return slot;
  }

  private backendOf(slot: MinuteSlot, name: string): BackendMinute {
    let backend = slot.backends.get(name);
    if (backend) return backend;
    const key = slot.backends.size < MAX_BACKENDS ? name : OTHER_BACKENDS;
    backend = slot.backends.get(key);
    if (!backend) {
      backend = { calls: 0, errors: 0, histogram: new Uint32Array(BUCKET_BOUNDS_MS.length + 1), maxMs: 0 };
      slot.backends.set(key, backend);
    }
    return backend;
  }
}

function bucketOf(ms: number): number {
  // A binary search would save little over 28 comparisons at most; most calls end in the first few buckets.
  for (let i = 0; i < BUCKET_BOUNDS_MS.length; i++) if (ms <= BUCKET_BOUNDS_MS[i]!) return i;
  return BUCKET_BOUNDS_MS.length;
}

/**
 * The q-quantile estimated from the histogram: linear within the bucket that holds the rank, and
 * never above the slowest call seen (which also bounds the open last bucket). Null without calls.
 */
function percentile(counts: BackendMinute, q: number): number | null {
  if (counts.calls === 0) return null;
  const rank = Math.max(1, Math.ceil(q * counts.calls));
  let below = 0;
  for (let i = 0; i < counts.histogram.length; i++) {
    const inBucket = counts.histogram[i]!;
    if (below + inBucket >= rank) {
      const lower = i === 0 ? 0 : BUCKET_BOUNDS_MS[i - 1]!;
      const upper = BUCKET_BOUNDS_MS[i] ?? counts.maxMs;
      const estimate = lower + ((upper - lower) * (rank - below)) / inBucket;
      return Math.round(Math.min(estimate, counts.maxMs) * 10) / 10;
    }
    below += inBucket;
  }
  return Math.round(counts.maxMs * 10) / 10;
}
