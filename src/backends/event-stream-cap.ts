import { answeredId } from "./bun-stdio-transport.ts";

/** What is kept of an event longer than the cap: its first and last bytes, enough to find the id it answers. */
const KEPT = 256;
const LF = 10;
const CR = 13;

/**
 * A backend's event stream (text/event-stream) with a cap on each event, as the stdio transport
 * caps each line: an event longer than `maxBytes` is skipped as it arrives, never held whole by
 * the SSE parser downstream, and when it is a response its call fails with an error naming the
 * size (a JSON-RPC error event in its place). Lines are passed on whole and unchanged, chunk by
 * chunk; only the line that crosses the cap, and the rest of its event, are held back.
 */
export function capEventStream(body: ReadableStream<Uint8Array>, maxBytes: number, tooBig: (bytes: number) => string): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  /** Bytes of the current event passed on so far. */
  let eventBytes = 0;
  /** Whether the current line (up to now) has anything but line-ending characters. */
  let lineHasContent = false;
  /** The first KEPT bytes of the current line (a response's "result" or "error" key is there, perhaps already passed on). */
  let lineHead: Uint8Array = new Uint8Array(0);
  let skipped: { bytes: number; head: Uint8Array; tail: Uint8Array } | undefined;

  /** The skipped event's end: the event passed on so far is closed, and its call told why it got no answer. */
  const endSkipped = (controller: TransformStreamDefaultController<Uint8Array>) => {
    const { bytes, head, tail } = skipped!;
    skipped = undefined;
    const id = answeredId(decoder.decode(head), decoder.decode(tail).trimEnd());
    const error = id === undefined ? "" : `data: ${JSON.stringify({ jsonrpc: "2.0", id, error: { code: -32603, message: tooBig(bytes) } })}\n\n`;
    // Two line ends: one closes a line cut short, the next the event (an event with no data is not dispatched).
    controller.enqueue(encoder.encode(`\n\n${error}`));
  };

  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        /** Start of the bytes of this chunk still to pass on; -1 while skipping. */
        let passFrom = skipped ? -1 : 0;
        for (let at = 0; at < chunk.length; ) {
          const lf = chunk.indexOf(LF, at);
          const end = lf < 0 ? chunk.length : lf + 1;
          const line = chunk.subarray(at, end);
          if (lineHead.length < KEPT) lineHead = lineHead.length === 0 ? line.slice(0, KEPT) : joinUpTo(lineHead, line, KEPT);
          if (skipped) {
            skipped.bytes += line.length;
            skipped.tail = keepTail(skipped.tail, line);
          } else if (eventBytes + line.length > maxBytes) {
            if (at > passFrom) controller.enqueue(chunk.subarray(passFrom, at));
            passFrom = -1;
            skipped = { bytes: eventBytes + line.length, head: lineHead, tail: keepTail(new Uint8Array(0), line) };
          } else {
            eventBytes += line.length;
          }
          let content = line.length;
          while (content > 0 && (line[content - 1] === LF || line[content - 1] === CR)) content--;
          lineHasContent ||= content > 0;
          if (lf >= 0) {
            // A blank line ends the event: the next one is counted from zero.
            if (!lineHasContent) {
              if (skipped) {
                endSkipped(controller);
                passFrom = end;
              }
              eventBytes = 0;
            }
            lineHasContent = false;
            lineHead = new Uint8Array(0);
          }
          at = end;
        }
        if (passFrom >= 0 && passFrom < chunk.length) controller.enqueue(passFrom === 0 ? chunk : chunk.subarray(passFrom));
      },
      flush(controller) {
        if (skipped) endSkipped(controller);
      },
    }),
  );
}

/** The last KEPT bytes of `tail` followed by `more`. */
function keepTail(tail: Uint8Array, more: Uint8Array): Uint8Array {
  if (more.length >= KEPT) return more.slice(more.length - KEPT);
  const joined = new Uint8Array(Math.min(KEPT, tail.length + more.length));
  const fromTail = joined.length - more.length;
  joined.set(tail.subarray(tail.length - fromTail), 0);
  joined.set(more, fromTail);
  return joined;
}

/** `head` followed by the start of `more`, at most `max` bytes. */
function joinUpTo(head: Uint8Array, more: Uint8Array, max: number): Uint8Array {
  const joined = new Uint8Array(Math.min(max, head.length + more.length));
  joined.set(head, 0);
  joined.set(more.subarray(0, joined.length - head.length), head.length);
  return joined;
}
