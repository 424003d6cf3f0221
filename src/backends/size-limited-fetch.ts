import { capEventStream } from "./event-stream-cap.ts";

/**
 * A fetch for backend HTTP transports that refuses a JSON response body larger than `maxBytes`
 * without buffering it: by Content-Length at once, or by counting as the body streams. An event
 * stream lives long (the GET stream, legacy SSE's only stream), so the cap applies to each event
 * in it instead (event-stream-cap.ts).
 */
export function sizeLimitedFetch(maxBytes: number, backend: string): typeof fetch {
  const tooBig = (bytes: number | string) =>
    new Error(`backend "${backend}" sent a response of ${bytes} bytes, over the ${maxBytes}-byte cap (backend add --max-response)`);
  const limited = async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
    const response = await fetch(input, init);
    const contentType = response.headers.get("content-type") ?? "";
    const json = contentType.includes("application/json");
    const declared = json ? Number(response.headers.get("content-length") ?? "NaN") : Number.NaN;
    // A declared length within the cap is all there will be: no counting needed (the common, fast
    // case). Checked before `body` is read: reading it makes Bun hand the body over as a stream,
    // which then costs the later text() about 8 % of an HTTP relayed call (in-process, alternated).
    if (declared <= maxBytes) return response;
    if (!response.body) return response;
    if (contentType.includes("text/event-stream")) {
      const body = capEventStream(response.body, maxBytes, (bytes) => tooBig(bytes).message);
      return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
    }
    if (!json) return response;
    if (declared > maxBytes) {
      await response.body.cancel().catch(() => undefined);
      throw tooBig(declared);
    }
    let seen = 0;
    const counted = response.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          seen += chunk.byteLength;
          if (seen > maxBytes) controller.error(tooBig(`more than ${maxBytes}`));
          else controller.enqueue(chunk);
        },
      }),
    );
    return new Response(counted, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
  return Object.assign(limited, { preconnect: fetch.preconnect }) as typeof fetch;
}
