import { callController } from "../backends/call-signal.ts";

/** Controllers kept for reuse: more than the calls usually in flight at once. */
const MAX_FREE = 1_024;

/**
 * AbortControllers for calls, reused once a call ended without being aborted. Making an
 * AbortController and its signal is about 2 µs of a relayed call's CPU (in-process ablation,
 * docs/relay.md "Piece by piece"), and almost no call is ever cancelled. A controller may be
 * reused because every consumer of a call's signal removes its listener when its own request
 * settles (DirectRequests, the concurrency gate, the input bridge): the 2026-07-28 front has reused
 * its calls' controllers the same way since issue 14 (modern-disconnects.ts). The one listener that
 * can outlive its call belongs to a backend request the call no longer waits for (an aggregated
 * list that failed early on another backend); were the controller's next call cancelled while it
 * is still pending, that orphaned request would be cancelled at its backend too, which is what it
 * is owed anyway. An aborted controller is never reused.
 */
export class RecycledControllers {
  private readonly free: AbortController[] = [];

  /** A controller whose signal is not aborted. */
  take(): AbortController {
    return this.free.pop() ?? callController();
  }

  /** The call it served has ended: nothing holds its signal any longer. */
  give(controller: AbortController): void {
    if (!controller.signal.aborted && this.free.length < MAX_FREE) this.free.push(controller);
  }
}
