import { AsyncLocalStorage } from "node:async_hooks";
import { type TraceContext, traceFromHeaders } from "./trace-context.ts";

/**
 * The trace context of the request being handled, carried through async calls. Backend
 * connections are shared between sessions, so nothing per request may be set on a transport:
 * the HTTP backends' fetch reads the caller's context from here when the SDK client sends a
 * message (its POST runs in the async context of the call that sent it).
 */
const current = new AsyncLocalStorage<TraceContext>();

/** The trace context of the request being handled, if any. */
export function currentTrace(): TraceContext | undefined {
  return current.getStore();
}

/**
 * Handles a request inside its trace context (continued from its traceparent, or started) and
 * tells the caller which trace and span it was with a `traceresponse` header (W3C Trace Context
 * Level 2 draft), so a caller that sent no traceparent can still find its call in the logs.
 */
export async function handleTraced(request: Request, handle: () => Promise<Response>): Promise<Response> {
  const trace = traceFromHeaders(request.headers);
  const response = await current.run(trace, handle);
  response.headers.set("traceresponse", trace.traceparent);
  return response;
}

/**
 * Runs `fn` as a continuation of a trace recorded earlier (a job run continues the request that
 * submitted it): same trace id, the recorded span as parent, a new span; a new trace when none was recorded.
 */
export function continueTrace<T>(traceparent: string | undefined, tracestate: string | undefined, fn: () => T): T {
  const headers = new Headers();
  if (traceparent !== undefined) headers.set("traceparent", traceparent);
  if (tracestate !== undefined) headers.set("tracestate", tracestate);
  return current.run(traceFromHeaders(headers), fn);
}

/**
 * Runs `fn` outside any request's trace: for work that outlives the request that happens to start
 * it, e.g. opening a shared backend connection (its initialize and its long-lived GET stream belong
 * to no one call).
 */
export function outsideTrace<T>(fn: () => T): T {
  return current.exit(fn);
}

/**
 * A fetch for backend HTTP transports that adds the current request's `traceparent` (the
 * caller's trace id, the gateway's span id as parent-id) and `tracestate`. Outside a request (the
 * connection's own initialize and GET stream, job runs) it adds nothing.
 */
export function tracePropagatingFetch(inner: typeof fetch): typeof fetch {
  const propagating = (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
    const trace = current.getStore();
    if (!trace) return inner(input, init);
    const given = init?.headers;
    if (given !== undefined && given !== null && !(given instanceof Headers) && !Array.isArray(given)) {
      // A plain object with lower-case names (the hot path's, shared by its POSTs): copied, never changed.
      const { tracestate: _dropped, ...rest } = given as Record<string, string>;
      const headers = { ...rest, traceparent: trace.traceparent, ...(trace.tracestate !== undefined && { tracestate: trace.tracestate }) };
      return inner(input, { ...init, headers });
    }
    // The SDK builds a fresh Headers per message, so it can take the fields directly.
    const headers = given instanceof Headers ? given : new Headers(given);
    headers.set("traceparent", trace.traceparent);
    if (trace.tracestate !== undefined) headers.set("tracestate", trace.tracestate);
    else headers.delete("tracestate");
    return inner(input, given === headers ? init : { ...init, headers });
  };
  return Object.assign(propagating, { preconnect: fetch.preconnect }) as typeof fetch;
}
