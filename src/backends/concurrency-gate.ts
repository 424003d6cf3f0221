import { McpError } from "../protocol/mcp-values.ts";
import { GatewayErrorCode } from "../protocol/gateway-errors.ts";

export const DEFAULT_MAX_QUEUE = 100;

/**
 * A cap on calls in flight to one backend, shared by every session, with a bounded FIFO queue:
 * beyond `max` running and `maxQueue` waiting, a call is refused at once as "busy" rather than
 * piling up. A waiting call whose caller gives up (abort) leaves the queue.
 */
export class ConcurrencyGate {
  private active = 0;
  private readonly waiting: { start: () => void; abandon: () => void }[] = [];

  constructor(
    private readonly backend: string,
    readonly max: number,
    readonly maxQueue: number = DEFAULT_MAX_QUEUE,
  ) {}

  get inFlight(): number {
    return this.active;
  }

  async run<T>(signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await this.wait(signal);
    else this.active += 1;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter, so `active` never dips and lets a newcomer jump the queue.
      if (next) next.start();
      else this.active -= 1;
    }
  }

  private wait(signal: AbortSignal | undefined): Promise<void> {
    if (this.waiting.length >= this.maxQueue) {
      return Promise.reject(
        new McpError(
          GatewayErrorCode.BackendBusy,
          `backend "${this.backend}" is busy: ${this.active} calls in flight and ${this.waiting.length} waiting (its --max-concurrency and --max-queue); retry shortly`,
          {
            backend: this.backend,
            maxConcurrency: this.max,
            maxQueue: this.maxQueue,
          },
        ),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const entry = {
        start: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
        abandon: () => reject(signal?.reason ?? new Error("cancelled while waiting for the backend")),
      };
      const onAbort = () => {
        const at = this.waiting.indexOf(entry);
        if (at >= 0) this.waiting.splice(at, 1);
        entry.abandon();
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiting.push(entry);
    });
  }
}
