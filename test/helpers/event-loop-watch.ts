import { readFileSync } from "node:fs";

/**
 * Watches this process's event loop (tests run the gateway in-process) and reports its worst stall two ways:
 *
 * - `maxLagMs`: how late a timer fired, in wall-clock time. On a quiet machine that is the longest the loop was
 *   blocked; on a shared one it also counts the time the process waited for a CPU, so it says as much about the
 *   machine's load as about the gateway (a CI run beside other suites saw 450 ms with nothing blocking).
 * - `maxBusyMs`: the CPU the loop's own thread ran between two timer ticks, at most. A task that holds the loop
 *   for 100 ms runs 100 ms of CPU before the next tick, however loaded the machine; waiting for a CPU adds nothing.
 *   This is the figure tests bound. Read from Linux's `/proc/thread-self/schedstat` (nanoseconds on CPU of the
 *   calling thread); elsewhere from `process.cpuUsage()`, the whole process's, which can only overstate it.
 */
export interface EventLoopWatch {
  /** The worst figures so far, updated at each tick. */
  readonly stall: EventLoopStall;
  /** Stops watching and returns the worst figures seen. */
  stop(): EventLoopStall;
}

export interface EventLoopStall {
  maxLagMs: number;
  maxBusyMs: number;
}

/** The calling thread's: vitest may run a test file in a worker thread, and that thread is the file's event loop. */
const SCHEDSTAT = "/proc/thread-self/schedstat";

function mainThreadCpuReader(): () => number {
  try {
    readFileSync(SCHEDSTAT, "latin1");
    return () => Number(readFileSync(SCHEDSTAT, "latin1").split(" ", 1)[0]) / 1e6;
  } catch {
    return () => {
      const usage = process.cpuUsage();
      return (usage.user + usage.system) / 1000;
    };
  }
}

/** The CPU the calling thread has run so far, in ms (the whole process's off Linux). */
export const threadCpuMs: () => number = mainThreadCpuReader();

export function watchEventLoop(intervalMs = 10): EventLoopWatch {
  const cpuMs = threadCpuMs;
  const stall: EventLoopStall = { maxLagMs: 0, maxBusyMs: 0 };
  let lastWall = performance.now();
  let lastCpu = cpuMs();
  const tick = () => {
    const wall = performance.now();
    const cpu = cpuMs();
    stall.maxLagMs = Math.max(stall.maxLagMs, wall - lastWall - intervalMs);
    stall.maxBusyMs = Math.max(stall.maxBusyMs, cpu - lastCpu);
    lastWall = wall;
    lastCpu = cpu;
  };
  const timer = setInterval(tick, intervalMs);
  return {
    stall,
    stop() {
      clearInterval(timer);
      tick();
      return { ...stall };
    },
  };
}
