import { DeadlineQueue } from "./deadline-queue.ts";

/** The bounds on reading one request body. */
export interface BodyLimits {
  maxBytes: number;
  /** The whole body must arrive within this long (MCPGW_BODY_TIMEOUT). */
  timeoutMs: number;
}

/** A body not read: 413 past the size bound (declared: known from Content-Length, nothing read), 408 past the time bound. */
export interface UnreadBody {
  status: 413 | 408;
  reason: string;
  declared?: boolean;
}

/** Every request body's time bound, served by one timer (a timer and a race per body cost about 5 µs per call). */
const bodyDeadlines = new DeadlineQueue();

/**
 * Reads a request body as text within both bounds. Size: a declared length over the bound is
 * refused at once; a body of unknown length is cut off as soon as it passes the bound. Time: a
 * body dripped slowly would otherwise hold its connection (and a slot of the gateway) for as long
 * as the sender likes; past the bound the caller answers 408 and closes the connection.
 */
export function readBodyText(request: Request, limits: BodyLimits): Promise<string | UnreadBody> {
  const { maxBytes, timeoutMs } = limits;
  const declared = Number(request.headers.get("content-length") ?? "NaN");
  if (declared > maxBytes)
    return Promise.resolve({ status: 413, reason: `request body of ${declared} bytes exceeds the ${maxBytes}-byte limit`, declared: true });
  // With a declared length within the bound, Bun reads exactly that many bytes natively (cheaper
  // than a JS stream reader); without one (chunked), the body is streamed and cut at the bound.
  const reading: Promise<string | UnreadBody> = Number.isFinite(declared)
    ? request.text()
    : readBounded(request, maxBytes).then((text) => text ?? { status: 413, reason: `request body exceeds the ${maxBytes}-byte limit` });
  return new Promise((resolve, reject) => {
    const deadline = bodyDeadlines.watch(timeoutMs, () =>
      resolve({ status: 408, reason: `Request Timeout: the request body did not arrive within ${timeoutMs / 1_000} s (MCPGW_BODY_TIMEOUT)` }),
    );
    // Once given up on, the read fails when the connection closes: nobody waits for it then.
    reading.then(
      (text) => {
        bodyDeadlines.release(deadline);
        resolve(text);
      },
      (err: unknown) => {
        bodyDeadlines.release(deadline);
        reject(err);
      },
    );
  });
}

/** Reads a body of unknown length, giving up (undefined) once it passes maxBytes. */
export async function readBounded(request: Request, maxBytes: number): Promise<string | undefined> {
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}
