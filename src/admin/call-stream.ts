import type { AuditContext, AuditOutcome } from "../audit/auditor.ts";
import { type CallFeed, callEvent } from "../observability/call-feed.ts";

/**
 * The live stream of calls (GET /v1/admin/calls/stream) as Server-Sent Events: each call and
 * refusal the call feed publishes, matching the stream's filters, is sent as `event: call`.
 *
 * What a stream may cost is bounded: each holds at most `bufferSize` events (and `bufferBytes` of
 * them) the browser has not read yet (the stream is pulled, so nothing piles up in the stream's
 * own queue); past that the oldest are dropped and the next read begins with `event: dropped` and
 * their count. At most `maxStreams` are open at once. A stream's subscription ends when the client goes away (the
 * body is cancelled or the request aborted) or the gateway stops (closeAll).
 */

/** The stream's filters: each given one must match exactly. */
export interface CallStreamFilter {
  subject?: string;
  backend?: string;
  status?: string;
}

export interface CallStreamOptions {
  /** Streams open at once; one more is refused (429). Default 32. */
  maxStreams?: number;
  /** Unread events one stream holds before dropping the oldest. Default 500. */
  bufferSize?: number;
  /** Unread characters one stream holds before dropping the oldest events. Default 1 MiB (events are a few hundred). */
  bufferBytes?: number;
  /** How often a quiet stream sends `: keepalive` (proxies close silent connections). Default 15 s. */
  keepaliveMs?: number;
}

const encoder = new TextEncoder();

/** One open stream: the events its client has not read yet, and how many were dropped unread. */
class CallSubscription {
  private readonly pending: string[] = [];
  private pendingLength = 0;
  private dropped = 0;
  private keepaliveDue = false;
  private closed = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly bufferSize: number,
    private readonly bufferBytes: number,
  ) {}

  get buffered(): number {
    return this.pending.length;
  }

  push(frame: string): void {
    if (this.closed) return;
    this.pending.push(frame);
    this.pendingLength += frame.length;
    while (this.pending.length > this.bufferSize || (this.pendingLength > this.bufferBytes && this.pending.length > 1)) {
      this.pendingLength -= this.pending.shift()!.length;
      this.dropped += 1;
    }
    this.signal();
  }

  keepalive(): void {
    this.keepaliveDue = true;
    this.signal();
  }

  close(): void {
    this.closed = true;
    this.signal();
  }

  /** The next chunk to send, once there is one; undefined when the stream is closed. */
  async next(): Promise<string | undefined> {
    while (!this.closed && this.pending.length === 0 && !this.keepaliveDue) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
    if (this.closed) return undefined;
    let chunk = "";
    if (this.dropped > 0) {
      chunk += `event: dropped\ndata: ${JSON.stringify({ count: this.dropped })}\n\n`;
      this.dropped = 0;
    }
    if (this.pending.length > 0) {
      chunk += this.pending.join("");
      this.pending.length = 0;
      this.pendingLength = 0;
    } else {
      chunk += ": keepalive\n\n";
    }
    this.keepaliveDue = false;
    return chunk;
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

export class CallStreams {
  private readonly open = new Set<CallSubscription>();
  private readonly releases = new Set<() => void>();
  /** Each open stream's check of its caller (token and permission), by its release. */
  private readonly allowed = new Map<() => void, () => boolean>();
  private readonly maxStreams: number;
  private readonly bufferSize: number;
  private readonly bufferBytes: number;
  private readonly keepaliveMs: number;

  constructor(
    private readonly feed: CallFeed,
    options: CallStreamOptions = {},
  ) {
    this.maxStreams = options.maxStreams ?? 32;
    this.bufferSize = options.bufferSize ?? 500;
    this.bufferBytes = options.bufferBytes ?? 1_048_576;
    this.keepaliveMs = options.keepaliveMs ?? 15_000;
  }

  /** Streams open now. */
  get count(): number {
    return this.open.size;
  }

  /** Unread events of each open stream (what a slow client costs). */
  buffered(): number[] {
    return [...this.open].map((subscription) => subscription.buffered);
  }

  /**
   * Opens a stream: the SSE body, subscribed to the feed until the client goes (`signal` aborts or
   * the body is cancelled), or until `stillAllowed` says no (asked before each event and keepalive,
   * and at recheck()). Undefined when `maxStreams` are open already.
   */
  openStream(filter: CallStreamFilter, signal?: AbortSignal, stillAllowed: () => boolean = () => true): ReadableStream<Uint8Array> | undefined {
    if (this.open.size >= this.maxStreams) return undefined;
    const subscription = new CallSubscription(this.bufferSize, this.bufferBytes);
    this.open.add(subscription);
    const unsubscribe = this.feed.subscribe((context, outcome, latencyMs, at) => {
      if (!matches(filter, context, outcome)) return;
      // A revoked or expired token, or roles that no longer grant the stream: nothing more is sent, the stream ends.
      if (!stillAllowed()) return release();
      subscription.push(`event: call\ndata: ${JSON.stringify(callEvent(context, outcome, latencyMs, at))}\n\n`);
    });
    const timer = setInterval(() => (stillAllowed() ? subscription.keepalive() : release()), this.keepaliveMs);
    timer.unref?.();
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      unsubscribe();
      clearInterval(timer);
      subscription.close();
      this.open.delete(subscription);
      this.releases.delete(release);
      this.allowed.delete(release);
      signal?.removeEventListener("abort", release);
    };
    this.releases.add(release);
    this.allowed.set(release, stillAllowed);
    signal?.addEventListener("abort", release, { once: true });
    if (signal?.aborted) release();
    let greeted = false;
    return new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          // A first comment at once: the client sees the stream open (and its headers) before any call.
          if (!greeted) {
            greeted = true;
            controller.enqueue(encoder.encode(": connected\n\n"));
            return;
          }
          const chunk = await subscription.next();
          if (chunk === undefined) {
            release();
            // Closed by closeAll (the client is still there), or after a cancel (closing again is refused, harmlessly).
            try {
              controller.close();
            } catch {
              // already closed by the cancel
            }
            return;
          }
          controller.enqueue(encoder.encode(chunk));
        },
        cancel: release,
      },
      // Pulled only when the client reads: unread events stay in the bounded subscription, not in the stream's queue.
      { highWaterMark: 0 },
    );
  }

  /** Ends the streams whose caller may no longer have them (a token revoked, a role changed): called when credentials change. */
  recheck(): void {
    for (const [release, stillAllowed] of [...this.allowed]) if (!stillAllowed()) release();
  }

  /** Ends every open stream (the gateway stops: a stream must not hold the drain open). */
  closeAll(): void {
    for (const release of [...this.releases]) release();
  }
}

function matches(filter: CallStreamFilter, context: AuditContext, outcome: AuditOutcome): boolean {
  return (
    (filter.subject === undefined || context.subject === filter.subject) &&
    (filter.backend === undefined || context.backend === filter.backend) &&
    (filter.status === undefined || outcome.status === filter.status)
  );
}
