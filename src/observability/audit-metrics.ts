import { Gauge, Histogram, type MetricsRegistry } from "./metrics.ts";

/** What the audit metrics read from the store-backed auditor at scrape time. */
export interface AuditQueueSource {
  /** Records and outcomes waiting for the next transaction. */
  readonly queued: number;
  health(): { available: boolean };
}

/** Commits take about a millisecond on SQLite and a few on PostgreSQL; an outage shows in the top buckets. */
const COMMIT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** Group commit takes up to 1000 items per transaction (StoreAuditor maxBatch). */
const BATCH_BUCKETS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000];

/**
 * The write-ahead audit log's metrics: queue depth and availability read at scrape time, and each
 * group commit's duration and size (StoreAuditor's onCommit). A commit is what every call waits
 * for before it is forwarded, so its latency is added to every call's.
 */
export class AuditMetrics {
  private readonly commitSeconds: Histogram;
  private readonly batchSize: Histogram;
  private source: AuditQueueSource | undefined;

  constructor(metrics: MetricsRegistry) {
    // Absent until the auditor is attached (and with MCPGW_AUDIT=off, when there is none).
    metrics.register(
      new Gauge("mcpgw_audit_queue_depth", "Audit records and outcomes waiting for the next commit", () => (this.source ? this.source.queued : [])),
    );
    metrics.register(
      new Gauge("mcpgw_audit_available", "1 while audit commits succeed, 0 while the audit store is unavailable", () =>
        this.source ? Number(this.source.health().available) : [],
      ),
    );
    this.commitSeconds = metrics.register(
      new Histogram("mcpgw_audit_commit_duration_seconds", "Duration of audit group commits (one transaction each)", [], COMMIT_BUCKETS),
    );
    this.batchSize = metrics.register(new Histogram("mcpgw_audit_batch_size", "Records and outcomes written per audit commit", [], BATCH_BUCKETS));
  }

  /** The auditor whose queue the gauges read. */
  attach(source: AuditQueueSource): void {
    this.source = source;
  }

  /** Pass as StoreAuditor's onCommit. */
  readonly onCommit = (items: number, seconds: number): void => {
    this.commitSeconds.observe([], seconds);
    this.batchSize.observe([], items);
  };
}
