import { readdirSync } from "node:fs";
import { Gauge, type MetricsRegistry, SampledCounter } from "./metrics.ts";

/**
 * The standard process series (the names Prometheus client libraries use, so dashboards made for
 * them work) and mcpgw_build_info, all read when scraped: nothing is sampled in between.
 */
export function registerProcessMetrics(metrics: MetricsRegistry, build: { version: string }): void {
  const startedAt = Date.now() / 1_000 - process.uptime();
  metrics.register(
    new Gauge("mcpgw_build_info", "The running mcpgw: its version, and the Bun runtime it runs on (always 1)", () => [
      [{ version: build.version, bun: Bun.version, platform: `${process.platform}-${process.arch}` }, 1],
    ]),
  );
  metrics.register(
    new SampledCounter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds", () => {
      const usage = process.cpuUsage();
      return (usage.user + usage.system) / 1e6;
    }),
  );
  metrics.register(new Gauge("process_resident_memory_bytes", "Resident memory size in bytes", () => process.memoryUsage.rss()));
  metrics.register(new Gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds", () => startedAt));
  // Linux lists a process's descriptors in /proc; elsewhere the series is left out rather than made up.
  if (openFds() !== undefined) metrics.register(new Gauge("process_open_fds", "Number of open file descriptors", () => openFds() ?? 0));
}

function openFds(): number | undefined {
  try {
    return readdirSync("/proc/self/fd").length;
  } catch {
    return undefined;
  }
}
