/**
 * Abort listeners for the signals the front gives its calls, at a fraction of what
 * `addEventListener` and `removeEventListener` cost. Every relayed call listens on its signal
 * while it waits for its backend (DirectRequests), and almost none is ever aborted: the pair of
 * EventTarget calls was about 4 % of a relayed call's CPU (in-process ablation, docs/relay.md
 * "Flattening the common call"). A call signal keeps its listeners in a Set that one EventTarget listener,
 * added when its controller is made, runs on abort; any other signal gets the EventTarget calls.
 * The front's controllers are made here (recycled-controllers.ts, modern-disconnects.ts).
 */

const LISTENERS = Symbol("mcpgw.callSignalListeners");

type CallSignal = AbortSignal & { [LISTENERS]?: Set<() => void> };

/** An AbortController whose signal takes listeners through `listenAbort` cheaply. */
export function callController(): AbortController {
  const controller = new AbortController();
  const listeners = new Set<() => void>();
  (controller.signal as CallSignal)[LISTENERS] = listeners;
  controller.signal.addEventListener(
    "abort",
    () => {
      // As EventTarget dispatches: the listeners there when the abort came, less any removed meanwhile.
      for (const listener of [...listeners]) {
        if (!listeners.has(listener)) continue;
        try {
          listener();
        } catch {
          // One listener's failure must not keep the others from hearing of the abort.
        }
      }
      listeners.clear();
    },
    { once: true },
  );
  return controller;
}

/** Calls `listener` once when `signal` aborts, until `unlistenAbort` with the same function. */
export function listenAbort(signal: AbortSignal, listener: () => void): void {
  const listeners = (signal as CallSignal)[LISTENERS];
  if (listeners) listeners.add(listener);
  else signal.addEventListener("abort", listener, { once: true });
}

/** Stops `listener` from being called when `signal` aborts. */
export function unlistenAbort(signal: AbortSignal, listener: () => void): void {
  const listeners = (signal as CallSignal)[LISTENERS];
  if (listeners) listeners.delete(listener);
  else signal.removeEventListener("abort", listener);
}
