import { describe, expect, test } from "vitest";
import { DeadlineQueue } from "./deadline-queue.ts";

/** Resolves with when (performance.now()) a deadline of `ms` watched on `queue` expired. */
function expiry(queue: DeadlineQueue, ms: number): Promise<number> {
  return new Promise((resolve) => queue.watch(ms, () => resolve(performance.now())));
}

describe("DeadlineQueue", () => {
  test("expires a deadline once it is due, never one released before", async () => {
    const queue = new DeadlineQueue();
    const expired: string[] = [];
    const kept = queue.watch(100, () => expired.push("kept"));
    const released = queue.watch(100, () => expired.push("released"));
    queue.release(released);
    expect(queue.size).toBe(1);
    await Bun.sleep(60);
    expect(expired).toEqual([]);
    await Bun.sleep(150);
    expect(expired).toEqual(["kept"]);
    expect(queue.size).toBe(0);
    queue.release(kept);
    expect(queue.size).toBe(0);
  });

  test("each deadline expires when it is due, not later, whatever its length and whatever else is watched", async () => {
    const queue = new DeadlineQueue();
    const started = performance.now();
    queue.watch(4_000, () => undefined);
    const [short, middle, again] = await Promise.all([expiry(queue, 40), expiry(queue, 150), expiry(queue, 40)]);
    for (const [at, ms] of [
      [short, 40],
      [middle, 150],
      [again, 40],
    ] as const) {
      expect(at - started).toBeGreaterThanOrEqual(ms - 1);
      // A timer of its own would be as late on a busy machine.
      expect(at - started).toBeLessThan(ms + 100);
    }
    expect(queue.size).toBe(1);
  });

  test("when the earliest deadline is released, the next one still expires on time", async () => {
    const queue = new DeadlineQueue();
    const started = performance.now();
    const first = queue.watch(50, () => {
      throw new Error("released: must not expire");
    });
    const second = expiry(queue, 120);
    queue.release(first);
    const at = await second;
    expect(at - started).toBeGreaterThanOrEqual(119);
    expect(at - started).toBeLessThan(120 + 100);
  });

  test("a deadline watched again (a backend's progress restarting its timeout) expires from the second watch", async () => {
    const queue = new DeadlineQueue();
    const expired: string[] = [];
    const first = queue.watch(80, () => expired.push("first"));
    await Bun.sleep(50);
    queue.release(first);
    const restarted = performance.now();
    const at = await expiry(queue, 80);
    expect(expired).toEqual([]);
    expect(at - restarted).toBeGreaterThanOrEqual(79);
  });

  test("an expiry may watch a new deadline, and one expiry that throws does not stop the others", async () => {
    const queue = new DeadlineQueue();
    const expired: number[] = [];
    queue.watch(20, () => {
      throw new Error("boom");
    });
    await new Promise<void>((resolve) =>
      queue.watch(20, () => {
        expired.push(2);
        queue.watch(20, () => {
          expired.push(3);
          resolve();
        });
      }),
    );
    expect(expired).toEqual([2, 3]);
    expect(queue.size).toBe(0);
  });

  test("a watched deadline does not keep the process alive", async () => {
    const module = JSON.stringify(`${import.meta.dirname}/deadline-queue.ts`);
    const child = Bun.spawn([process.execPath, "-e", `const { DeadlineQueue } = await import(${module}); new DeadlineQueue().watch(60_000, () => {});`]);
    const code = await Promise.race([child.exited, Bun.sleep(10_000).then(() => "still running")]);
    child.kill();
    expect(code).toBe(0);
  });
});
