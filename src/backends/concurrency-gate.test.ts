import { describe, expect, test } from "vitest";
import { ConcurrencyGate } from "./concurrency-gate.ts";

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe("ConcurrencyGate", () => {
  test("never more than max in flight; the queue runs in order; beyond the queue: busy", async () => {
    const gate = new ConcurrencyGate("b", 2, 2);
    let peak = 0;
    const order: number[] = [];
    const releases = Array.from({ length: 4 }, deferred);
    const calls = releases.map((release, i) =>
      gate.run(undefined, async () => {
        peak = Math.max(peak, gate.inFlight);
        order.push(i);
        await release.promise;
      }),
    );
    await expect(gate.run(undefined, async () => undefined)).rejects.toThrow(/backend "b" is busy: 2 calls in flight and 2 waiting/);
    for (const release of releases) release.resolve();
    await Promise.all(calls);
    expect(order).toEqual([0, 1, 2, 3]);
    expect(peak).toBe(2);
    expect(gate.inFlight).toBe(0);
  });

  test("a caller that gives up leaves the queue", async () => {
    const gate = new ConcurrencyGate("b", 1, 5);
    const hold = deferred();
    const running = gate.run(undefined, () => hold.promise);
    const abort = new AbortController();
    const waiting = gate.run(abort.signal, async () => "ran");
    abort.abort(new Error("caller went away"));
    await expect(waiting).rejects.toThrow("caller went away");
    hold.resolve();
    await running;
    expect(await gate.run(undefined, async () => "next")).toBe("next");
    expect(gate.inFlight).toBe(0);
  });
});
