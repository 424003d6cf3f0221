import { describe, expect, it } from "vitest";
import { cpuTime } from "../bench/process-cpu.ts";

describe("bench process CPU time", () => {
  it("reads this process's CPU time from /proc as the runtime counts it", () => {
    const before = cpuTime(process.pid);
    const usageBefore = process.cpuUsage();
    // Spin until the runtime itself counts 300 ms of CPU (wall time would vary with the machine's load).
    let spun = 0;
    while ((process.cpuUsage().user + process.cpuUsage().system - usageBefore.user - usageBefore.system) / 1000 < 300) spun++;
    const after = cpuTime(process.pid);
    const usage = process.cpuUsage(usageBefore);
    expect(spun).toBeGreaterThan(0);
    expect(before).toBeDefined();
    expect(after).toBeDefined();
    const spentMs = (usage.user + usage.system) / 1000;
    // /proc counts in clock ticks (10 ms); the process as a whole includes other threads' work too.
    expect(after!.processMs - before!.processMs).toBeGreaterThanOrEqual(spentMs - 20);
    expect(after!.mainThreadMs - before!.mainThreadMs).toBeLessThanOrEqual(after!.processMs - before!.processMs);
  });

  it("tells a process's main thread from its other threads", async () => {
    // A child that spins on its main thread and nowhere else.
    const child = Bun.spawn([process.execPath, "-e", "for (;;) {}"], { stdout: "ignore", stderr: "ignore" });
    try {
      await Bun.sleep(200);
      const before = cpuTime(child.pid)!;
      await Bun.sleep(500);
      const after = cpuTime(child.pid)!;
      const main = after.mainThreadMs - before.mainThreadMs;
      const all = after.processMs - before.processMs;
      expect(main).toBeGreaterThan(0);
      expect(main).toBeLessThanOrEqual(all);
      expect(main).toBeGreaterThanOrEqual(all * 0.8);
    } finally {
      child.kill("SIGKILL");
      await child.exited;
    }
  });

  it("is undefined for a process that does not exist", () => {
    expect(cpuTime(2 ** 22 + 7)).toBeUndefined();
  });
});
