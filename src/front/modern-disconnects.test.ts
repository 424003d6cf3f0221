import { describe, expect, test } from "vitest";
import { ClientDisconnects, SWEEP_PERIOD_MS } from "./modern-disconnects.ts";

/** A request whose signal is the given one, counting how often the gateway reads it. */
function request(client = new AbortController()): { request: Request; client: AbortController; reads: () => number } {
  let reads = 0;
  const fake = {
    get signal() {
      reads += 1;
      return client.signal;
    },
  };
  return { request: fake as unknown as Request, client, reads: () => reads };
}

/** Polls until `done` holds, for at most 2 s (the sweeps run every SWEEP_PERIOD_MS). */
async function until(done: () => boolean): Promise<void> {
  for (let waited = 0; !done() && waited < 2_000; waited += SWEEP_PERIOD_MS / 5) await Bun.sleep(SWEEP_PERIOD_MS / 5);
}

describe("the client disconnects of 2026-07-28 calls", () => {
  test("a call answered before two sweeps never reads its request's signal, and its controller serves the next call", () => {
    const disconnects = new ClientDisconnects();
    const first = request();
    const call = disconnects.watch(first.request);
    disconnects.end(call);
    const next = disconnects.watch(request().request);
    expect(next.signal).toBe(call.signal);
    expect(next.signal.aborted).toBe(false);
    disconnects.end(next);
    expect(first.reads()).toBe(0);
    expect(disconnects.counts).toEqual({ watched: 0, free: 1 });
  });

  test("a call still in flight after two sweeps is aborted when its client goes away, and is not reused", async () => {
    const disconnects = new ClientDisconnects();
    const slow = request();
    const call = disconnects.watch(slow.request);
    await until(() => slow.reads() > 0);
    expect(slow.reads()).toBe(1);
    expect(call.signal.aborted).toBe(false);
    slow.client.abort(new Error("the client went away"));
    expect(call.signal.aborted).toBe(true);
    expect((call.signal.reason as Error).message).toBe("the client went away");
    disconnects.end(call);
    const next = disconnects.watch(request().request);
    expect(next.signal).not.toBe(call.signal);
    disconnects.end(next);
  });

  test("a client that left before the sweep looked cancels its call at once; a client still there leaves it alone", async () => {
    const disconnects = new ClientDisconnects();
    const gone = request();
    const staying = request();
    const left = disconnects.watch(gone.request);
    const kept = disconnects.watch(staying.request);
    gone.client.abort(new Error("gone early"));
    await until(() => left.signal.aborted);
    expect((left.signal.reason as Error).message).toBe("gone early");
    expect(kept.signal.aborted).toBe(false);
    disconnects.end(left);
    disconnects.end(kept);
    // A bound call is not reused: the request's listener could abort it for another call.
    expect(disconnects.counts).toEqual({ watched: 0, free: 0 });
    staying.client.abort();
    expect(kept.signal.aborted).toBe(true);
  });
});
