/** Response headers of an event stream; no buffering by proxies (2026-07-28 streamable-http). */
export const SSE_HEADERS = { "content-type": "text/event-stream", "cache-control": "no-cache", "x-accel-buffering": "no" };

/**
 * One response's event stream: JSON-RPC messages as `message` events, as they come, until end().
 * A client that closes the stream is reported through `onCancel` (for a 2026-07-28 request that
 * is its cancellation); writes after that are dropped.
 */
export class EventWriter {
  readonly stream: ReadableStream<Uint8Array>;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private closed = false;
  private readonly encoder = new TextEncoder();

  constructor(onCancel: () => void) {
    this.stream = new ReadableStream<Uint8Array>({
      start: (controller) => void (this.controller = controller),
      cancel: () => {
        this.closed = true;
        onCancel();
      },
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  send(message: unknown): void {
    this.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
  }

  /** An SSE comment: keeps an idle stream open through proxies; clients ignore it. */
  keepAlive(): void {
    this.write(":\n\n");
  }

  /** Sends the last message (when given) and ends the stream. */
  end(message?: unknown): void {
    if (message !== undefined) this.send(message);
    if (this.closed) return;
    this.closed = true;
    this.controller.close();
  }

  private write(text: string): void {
    if (this.closed) return;
    this.controller.enqueue(this.encoder.encode(text));
  }
}
