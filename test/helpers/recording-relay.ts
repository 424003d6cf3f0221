/** A JSON-RPC message as a relay test looks at it. */
export type RelayedMessage = {
  jsonrpc?: string;
  id?: unknown;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { code: number; message: string };
};

/** One HTTP request that passed the relay: its method, path, trace headers and JSON-RPC body. */
export interface RelayedRequest {
  method: string;
  path: string;
  traceparent: string | null;
  tracestate: string | null;
  message?: RelayedMessage;
}

/**
 * An HTTP relay in front of a backend that records every request passing through it, so a test
 * can see exactly what the gateway sent an HTTP backend (the stdio counterpart is
 * test/fixtures/stdio-spy.ts).
 */
export function recordingRelay(target: string): { origin: string; seen: RelayedRequest[]; posted(): RelayedMessage[]; stop(): void } {
  const seen: RelayedRequest[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0, // the backend's event streams stay open and quiet
    async fetch(request) {
      const body = request.method === "POST" ? await request.text() : undefined;
      const { pathname, search } = new URL(request.url);
      seen.push({
        method: request.method,
        path: pathname,
        traceparent: request.headers.get("traceparent"),
        tracestate: request.headers.get("tracestate"),
        ...(body && { message: JSON.parse(body) as RelayedMessage }),
      });
      const headers = new Headers(request.headers);
      headers.delete("host");
      return fetch(new URL(pathname + search, target), { method: request.method, headers, body, signal: request.signal });
    },
  });
  return {
    origin: `http://127.0.0.1:${server.port}`,
    seen,
    posted: () => seen.flatMap((request) => (request.message ? [request.message] : [])),
    stop: () => void server.stop(true),
  };
}
