import { describeError } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import type { AuditContext, AuditOutcome, Auditor } from "./auditor.ts";

/**
 * Refusals of callers without a valid token, recorded without letting those callers decide how
 * much the audit log grows. Every 401 used to be one audit row (a flood without any token wrote
 * 963 rows a second). Now, per minute:
 * - the first PER_SOURCE_RECORDED refusals of each source address, and at most TOTAL_RECORDED in
 *   all, are recorded one by one, as before;
 * - the rest are counted, and one summary record per minute says how many there were and from
 *   which sources (the busiest first);
 * - a source past PER_SOURCE_LIMIT refusals in the minute gets 429 with Retry-After instead of
 *   401 until the minute ends; requests with a valid token are never held back by this.
 * So a minute of any flood adds at most TOTAL_RECORDED + 1 records (docs/audit.md).
 */
export const FLOOD_WINDOW_MS = 60_000;
export const PER_SOURCE_RECORDED = 100;
export const TOTAL_RECORDED = 300;
export const PER_SOURCE_LIMIT = 600;
/** Sources tracked per minute; beyond (an address spray), the rest count under "other". */
const MAX_SOURCES = 10_000;
const SUMMARY_SOURCES = 10;

export type FloodDecision = { kind: "recorded" | "counted" } | { kind: "limited"; retryAfterSec: number };

export class UnauthenticatedFloodGuard {
  private windowStart = 0;
  private bySource = new Map<string, number>();
  private recorded = 0;
  private unrecorded = 0;
  private unrecordedBySource = new Map<string, number>();
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(
    private readonly auditor: Auditor,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    // A flood that stops still gets its summary within a minute.
    this.timer = setInterval(() => void this.roll(this.now()), FLOOD_WINDOW_MS);
    this.timer.unref?.();
  }

  /** Records (or counts) one unauthenticated refusal from `source`, and says how to answer it. */
  async refuse(source: string | undefined, context: AuditContext, outcome: AuditOutcome): Promise<FloodDecision> {
    const now = this.now();
    await this.roll(now);
    const key = source === undefined ? "unknown" : this.bySource.has(source) || this.bySource.size < MAX_SOURCES ? source : "other";
    const count = (this.bySource.get(key) ?? 0) + 1;
    this.bySource.set(key, count);
    if (count <= PER_SOURCE_RECORDED && this.recorded < TOTAL_RECORDED) {
      this.recorded += 1;
      await this.auditor.refuse(context, outcome).catch((err) => this.logger.error({ err: describeError(err) }, "unauthenticated request not audited"));
      return { kind: "recorded" };
    }
    this.unrecorded += 1;
    this.unrecordedBySource.set(key, (this.unrecordedBySource.get(key) ?? 0) + 1);
    if (count > PER_SOURCE_LIMIT) return { kind: "limited", retryAfterSec: Math.max(1, Math.ceil((this.windowStart + FLOOD_WINDOW_MS - now) / 1_000)) };
    return { kind: "counted" };
  }

  /** Writes the summary of the minute under way (shutdown). */
  async flush(): Promise<void> {
    clearInterval(this.timer);
    await this.writeSummary();
  }

  private async roll(now: number): Promise<void> {
    if (now < this.windowStart + FLOOD_WINDOW_MS) return;
    const summary = this.writeSummary();
    this.windowStart = now - (now % FLOOD_WINDOW_MS);
    this.bySource = new Map();
    this.recorded = 0;
    await summary;
  }

  private async writeSummary(): Promise<void> {
    if (this.unrecorded === 0) return;
    const count = this.unrecorded;
    const top = [...this.unrecordedBySource.entries()].sort((a, b) => b[1] - a[1]).slice(0, SUMMARY_SOURCES);
    const sources = this.unrecordedBySource.size;
    const from = new Date(this.windowStart).toISOString();
    this.unrecorded = 0;
    this.unrecordedBySource = new Map();
    const message = `${count} more unauthenticated requests from ${sources} source${sources === 1 ? "" : "s"} in the minute from ${from} were not recorded one by one; busiest: ${top.map(([s, n]) => `${s} (${n})`).join(", ")}`;
    this.logger.warn({ count, sources, busiest: Object.fromEntries(top) }, "unauthenticated requests counted, not recorded one by one");
    await this.auditor
      .refuse(
        { method: "unauthenticated requests (summary)" },
        { status: "unauthenticated", errorMessage: message, decision: "unauthenticated", rule: "flood summary" },
      )
      .catch((err) => this.logger.error({ err: describeError(err) }, "unauthenticated summary not audited"));
  }
}
