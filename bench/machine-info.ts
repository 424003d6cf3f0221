/** What the bench ran on, printed above the table so that numbers pasted elsewhere keep their context. */
import { availableParallelism, cpus, loadavg, release } from "node:os";

export interface MachineInfo {
  date: string;
  nproc: number;
  cpuModel: string;
  bunVersion: string;
  os: string;
  /** 1-minute load average when the run started: other work on the machine skews the numbers. */
  loadAverage: number;
}

/** Collects the machine description once, at the start of the run. */
export function machineInfo(): MachineInfo {
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    nproc: nproc(),
    cpuModel: cpus()[0]?.model.trim() || "unknown CPU",
    bunVersion: Bun.version,
    os: `${process.platform} ${release()}`,
    loadAverage: loadavg()[0] ?? 0,
  };
}

// `nproc` honours CPU affinity and cgroup limits the way the bench's own scheduling does.
function nproc(): number {
  try {
    const result = Bun.spawnSync(["nproc"]);
    const count = Number(result.stdout.toString().trim());
    if (result.exitCode === 0 && count > 0) return count;
  } catch {
    // Not installed: fall through.
  }
  return availableParallelism();
}
