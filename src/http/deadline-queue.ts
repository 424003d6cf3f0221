/** A deadline being watched: released when what it bounds ends in time. */
export interface WatchedDeadline {
  /** When it is due, on performance.now()'s clock. */
  readonly at: number;
  readonly expire: () => void;
  /** Its length: the queue it waits in. */
  readonly ms: number;
}

/**
 * Many deadlines served by one timer, instead of a timer each: for bounds that almost never expire, on a path
 * every call takes (a request body's read, a backend call's timeout). A timer per call cost about 4 µs of a
 * relayed call's CPU in the compiled gateway (docs/relay.md, "One timer for every call's deadline").
 *
 * Deadlines of one length are due in the order they were watched, so each length keeps an insertion-ordered
 * Set: watching and releasing are a Set add and delete, and only the oldest of each length can be due. The one
 * timer is set for the earliest deadline; a release leaves it alone (when it fires for a deadline released
 * meanwhile it finds nothing due and is set again for the new earliest). A deadline expires when it is due,
 * as a timer of its own would. The timer never keeps the process alive.
 */
export class DeadlineQueue {
  private readonly byLength = new Map<number, Set<WatchedDeadline>>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** When the timer fires; Infinity while none is set. */
  private timerAt = Number.POSITIVE_INFINITY;
  private watching = 0;

  /** Calls `expire` once, `ms` from now, unless released first. */
  watch(ms: number, expire: () => void): WatchedDeadline {
    const deadline = { at: performance.now() + ms, expire, ms };
    let queue = this.byLength.get(ms);
    if (queue === undefined) {
      queue = new Set();
      this.byLength.set(ms, queue);
    }
    queue.add(deadline);
    this.watching++;
    if (deadline.at < this.timerAt) this.setTimer(deadline.at);
    return deadline;
  }

  /** Stops watching: what it bounded ended in time. Releasing one already expired or released does nothing. */
  release(deadline: WatchedDeadline): void {
    if (this.byLength.get(deadline.ms)?.delete(deadline)) this.watching--;
  }

  /** Deadlines being watched. */
  get size(): number {
    return this.watching;
  }

  private setTimer(at: number): void {
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.expireDue(), Math.max(0, at - performance.now()));
    this.timer.unref();
  }

  private expireDue(): void {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = performance.now();
    for (const queue of this.byLength.values()) {
      for (const deadline of queue) {
        if (deadline.at > now) break;
        queue.delete(deadline);
        this.watching--;
        try {
          deadline.expire();
        } catch {
          // One expiry's failure must not stop the others.
        }
      }
    }
    // Expiries may have watched new deadlines (and set the timer): the next is the earliest head of any length.
    let next = Number.POSITIVE_INFINITY;
    for (const [ms, queue] of this.byLength) {
      const head = queue.values().next();
      if (head.done) this.byLength.delete(ms);
      else if (head.value.at < next) next = head.value.at;
    }
    if (next < this.timerAt) this.setTimer(next);
  }
}
