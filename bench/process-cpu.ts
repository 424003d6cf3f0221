/**
 * CPU time a process has used, read from Linux's /proc: all its threads, and its main thread
 * alone (the one that runs JavaScript in Bun and Node). On a small shared machine a target's
 * throughput moves with whatever else runs, while the CPU it spends per call moves much less,
 * so the bench reports both. Children (a relay's stdio backend) are not included.
 */
import { readFileSync } from "node:fs";

export interface CpuTime {
  /** All threads of the process, in ms. */
  processMs: number;
  /** The main thread alone, in ms. */
  mainThreadMs: number;
}

let ticksPerSecond: number | undefined;

/** The process's CPU time so far, or undefined where /proc cannot tell (not Linux, process gone). */
export function cpuTime(pid: number): CpuTime | undefined {
  try {
    ticksPerSecond ??= clockTicksPerSecond();
    return { processMs: ticksToMs(readFileSync(`/proc/${pid}/stat`, "utf8")), mainThreadMs: ticksToMs(readFileSync(`/proc/${pid}/task/${pid}/stat`, "utf8")) };
  } catch {
    return undefined;
  }
}

/** utime + stime (fields 14 and 15 of proc(5)'s stat), counted after the command name, which may hold spaces. */
function ticksToMs(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state), so fields 14 and 15 are at 11 and 12.
  const ticks = Number(fields[11]) + Number(fields[12]);
  if (!Number.isFinite(ticks)) throw new Error(`unexpected /proc stat line: ${stat.slice(0, 80)}`);
  return (ticks * 1000) / ticksPerSecond!;
}

function clockTicksPerSecond(): number {
  const result = Bun.spawnSync(["getconf", "CLK_TCK"]);
  const ticks = Number(result.stdout.toString().trim());
  return result.exitCode === 0 && ticks > 0 ? ticks : 100;
}
