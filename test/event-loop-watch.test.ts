import { expect, test } from "vitest";
import { threadCpuMs, watchEventLoop } from "./helpers/event-loop-watch.ts";

/** The stall bound of the hostile-body and fuzz tests must be able to fail: a loop held by 150 ms of work is caught. */
test("a task that holds the event loop for 150 ms of CPU shows as a stall of about that much; sleeping does not", async () => {
  const watch = watchEventLoop(5);
  await Bun.sleep(30);
  const sleeping = { ...watch.stall };
  const started = threadCpuMs();
  const deadline = performance.now() + 5_000;
  while (threadCpuMs() - started < 150 && performance.now() < deadline) Math.sqrt(Math.random());
  await Bun.sleep(20);
  const stall = watch.stop();
  expect(sleeping.maxBusyMs).toBeLessThan(20);
  expect(stall.maxBusyMs).toBeGreaterThanOrEqual(145);
  expect(stall.maxLagMs).toBeGreaterThanOrEqual(140);
});
