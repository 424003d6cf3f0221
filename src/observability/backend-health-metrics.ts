import type { BackendHealthObserver } from "../backends/backend-connection.ts";
import { Counter, Gauge, type MetricsRegistry } from "./metrics.ts";

/**
 * Backend health as the gateway sees it through its own connections (it connects on first use and
 * never polls): `mcpgw_backend_up{backend}` is 1 after a connection opened, 0 after an attempt
 * failed or an open connection closed on its own (crash, network), and absent for a backend no
 * connection has tried yet. Removed backends drop out at the next scrape.
 */
export class BackendHealthMetrics implements BackendHealthObserver {
  private readonly up = new Map<string, number>();
  private readonly failures: Counter;

  /** `registered` lists the backends that exist now (the registry), so removed ones are not reported. */
  constructor(metrics: MetricsRegistry, registered: () => readonly string[]) {
    metrics.register(
      new Gauge("mcpgw_backend_up", "1 if the last connection to the backend opened, 0 if it failed or closed unexpectedly", () => {
        const series: [Record<string, string>, number][] = [];
        for (const backend of registered()) {
          const value = this.up.get(backend);
          if (value !== undefined) series.push([{ backend }, value]);
        }
        return series;
      }),
    );
    this.failures = metrics.register(
      new Counter(
        "mcpgw_backend_connection_failures_total",
        "Backend connection attempts that failed (reason connect) and open connections that closed unexpectedly (reason closed)",
        ["backend", "reason"],
      ),
    );
  }

  connected(backend: string): void {
    this.up.set(backend, 1);
  }

  failed(backend: string, reason: "connect" | "closed"): void {
    this.up.set(backend, 0);
    this.failures.inc([backend, reason]);
  }
}
