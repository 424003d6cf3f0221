/** A deadline being watched: released when what it bounds ends in time. */
export interface WatchedDeadline {
  readonly at: number;
  readonly expire: () => void;
}

/** The shortest and longest time between two sweeps. */
const MIN_PERIOD_MS = 10;
const MAX_PERIOD_MS = 1_000;

/**
 * Many deadlines checked by one interval timer, instead of a timer each. Meant for bounds that
 * almost never expire, on a path taken by every request: a timer and a Promise.race per request
 * body cost about 5 µs of CPU per call in the bench's relay (docs/relay.md, "Piece by piece"),
 * where adding to and removing from this set costs a fraction of that. The price is precision: a
 * deadline expires up to a quarter of its length (at most 1 s) after it is due. The timer runs only
 * while something is watched, and never keeps the process alive.
 */
export class DeadlineSweep {
  private readonly watched = new Set<WatchedDeadline>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private periodMs = MAX_PERIOD_MS;

  /** Calls `expire` once, `ms` from now or up to a quarter of `ms` (at most 1 s) later, unless released first. */
  watch(ms: number, expire: () => void): WatchedDeadline {
    const deadline = { at: performance.now() + ms, expire };
    this.watched.add(deadline);
    const period = Math.min(MAX_PERIOD_MS, Math.max(MIN_PERIOD_MS, Math.ceil(ms / 4)));
    if (this.timer === undefined || period < this.periodMs) this.start(period);
    return deadline;
  }

  /** Stops watching: what it bounded ended in time. */
  release(deadline: WatchedDeadline): void {
    this.watched.delete(deadline);
  }

  /** Deadlines being watched. */
  get size(): number {
    return this.watched.size;
  }

  private start(periodMs: number): void {
    clearInterval(this.timer);
    this.periodMs = periodMs;
    this.timer = setInterval(() => this.sweep(), periodMs);
    this.timer.unref();
  }

  private sweep(): void {
    const now = performance.now();
    for (const deadline of this.watched) {
      if (deadline.at > now) continue;
      this.watched.delete(deadline);
      try {
        deadline.expire();
      } catch {
        // One expiry's failure must not stop the others.
      }
    }
    if (this.watched.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
      this.periodMs = MAX_PERIOD_MS;
    }
  }
}
