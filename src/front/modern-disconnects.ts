/**
 * How a 2026-07-28 call learns that its client went away, without paying for it on every call.
 *
 * A stateless request has one way to be cancelled: its client closes the request. Bun reports
 * that on `request.signal`, but reading it makes Bun create an AbortSignal tied to the
 * connection for each request, which cost about as much as the 2025 fast path's AbortController
 * (README, "Performance"), and most calls end long before anyone could cancel them. Bun remembers
 * the close: a signal read after it is already aborted. So a call gets the signal of a recycled
 * controller of its own, and only a call still in flight at two sweeps in a row (50 to 100 ms
 * after it began) reads its request's signal and is aborted with it, at once if its client is
 * already gone. A call that ends sooner never reads it, and its controller serves a later call.
 */

import { callController } from "../backends/call-signal.ts";

/** How often calls in flight are looked at: a client that goes away is noticed within two periods, at once after that. */
export const SWEEP_PERIOD_MS = 50;
/** Controllers kept for reuse: more than the calls usually in flight at once. */
const MAX_FREE = 1_024;

/** One call being watched: its signal is what the pipeline gets. */
export interface WatchedCall {
  readonly signal: AbortSignal;
}

class Watch implements WatchedCall {
  readonly controller = callController();
  readonly signal = this.controller.signal;
  request: Request | undefined = undefined;
  /** In flight at the last sweep. */
  seen = false;
  /** Bound to its request's signal: never reused (the request's listener would abort it for another call). */
  linked = false;
}

export class ClientDisconnects {
  private readonly free: Watch[] = [];
  private readonly inFlight = new Set<Watch>();
  private timer: ReturnType<typeof setInterval> | undefined;

  /** Starts watching the call answering `request`; `end` must follow when it is answered. */
  watch(request: Request): WatchedCall {
    const watch = this.free.pop() ?? new Watch();
    watch.request = request;
    this.inFlight.add(watch);
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.sweep(), SWEEP_PERIOD_MS);
      this.timer.unref?.();
    }
    return watch;
  }

  /** The call was answered: its controller is kept for another call unless it was aborted or bound to its request. */
  end(call: WatchedCall): void {
    const watch = call as Watch;
    this.inFlight.delete(watch);
    watch.request = undefined;
    watch.seen = false;
    if (!watch.linked && !watch.signal.aborted && this.free.length < MAX_FREE) this.free.push(watch);
  }

  /** Calls in flight since the last sweep are bound to their request's signal; the others are marked for the next. */
  private sweep(): void {
    if (this.inFlight.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    for (const watch of this.inFlight) {
      if (!watch.seen) {
        watch.seen = true;
        continue;
      }
      this.inFlight.delete(watch);
      watch.linked = true;
      const signal = watch.request!.signal;
      if (signal.aborted) watch.controller.abort(signal.reason);
      else signal.addEventListener("abort", () => watch.controller.abort(signal.reason), { once: true });
    }
  }

  /** Calls watched and not yet bound to their request, and controllers kept for reuse (for tests). */
  get counts(): { watched: number; free: number } {
    return { watched: this.inFlight.size, free: this.free.length };
  }
}
