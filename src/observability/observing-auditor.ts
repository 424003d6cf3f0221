import type { AuditContext, AuditEntry, AuditOutcome, Auditor } from "../audit/auditor.ts";
import type { Logger } from "../log/logger.ts";
import type { CallFeed } from "./call-feed.ts";
import { Counter, Histogram, type MetricsRegistry } from "./metrics.ts";
import type { TraceContext } from "../tracing/trace-context.ts";
import { currentTrace } from "../tracing/trace-propagation.ts";

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Tool and prompt names are few per backend; resource URIs are unbounded, so they never become a label. */
function targetLabel(context: AuditContext): string {
  return context.method === "tools/call" || context.method === "prompts/get" ? (context.target ?? "") : "";
}

/**
 * The Auditor seam is where every call and every refusal passes, so it is where calls are
 * counted and logged: this decorator records metrics and writes one log line per call, then
 * hands the record to the real auditor (whose write-ahead semantics are unchanged). Each call's
 * outcome and each refusal is also published to the call feed, when one is given and listened to.
 */
export class ObservingAuditor implements Auditor {
  private readonly calls: Counter;
  private readonly latency: Histogram;
  private readonly refusals: Counter;

  constructor(
    private readonly inner: Auditor,
    private readonly logger: Logger,
    metrics: MetricsRegistry,
    private readonly feed?: CallFeed,
  ) {
    this.calls = metrics.register(
      new Counter("mcpgw_calls_total", "Calls to tools, resources and prompts, by backend, method, target and outcome", [
        "backend",
        "method",
        "target",
        "status",
      ]),
    );
    this.latency = metrics.register(
      new Histogram("mcpgw_call_duration_seconds", "Duration of calls through the gateway", ["backend", "method"], LATENCY_BUCKETS),
    );
    this.refusals = metrics.register(
      new Counter("mcpgw_refusals_total", "Refused requests, by reason (unauthenticated, denied, rate_limited, invalid)", ["reason"]),
    );
  }

  async begin(context: AuditContext): Promise<AuditEntry> {
    const started = performance.now();
    // Taken now: the call's trace is that of the request that began it (job runs have none).
    const trace = currentTrace();
    const entry = await this.inner.begin(context);
    let finished = false;
    return {
      finish: (outcome) => {
        // The first outcome is the call's (as the inner auditor keeps it): a second one, e.g. from a
        // result filter failing after the call ended, must not count or log the call twice.
        if (finished) return;
        finished = true;
        entry.finish(outcome);
        const seconds = (performance.now() - started) / 1_000;
        const backend = context.backend ?? "";
        this.calls.inc([backend, context.method, targetLabel(context), outcome.status]);
        this.latency.observe([backend, context.method], seconds);
        this.logCall(context, outcome, seconds, trace);
        if (this.feed?.listening) this.feed.publish(context, outcome, seconds * 1_000);
      },
    };
  }

  /** Events are not calls: neither counted, logged nor streamed as calls (they log their own lines). */
  record(context: AuditContext, outcome: AuditOutcome): Promise<void> {
    return this.inner.record(context, outcome);
  }

  async refuse(context: AuditContext, outcome: AuditOutcome): Promise<void> {
    this.refusals.inc([outcome.status]);
    this.calls.inc([context.backend ?? "", context.method, targetLabel(context), outcome.status]);
    // The front logs unauthenticated requests itself (with the reason); everything else gets its line here.
    if (outcome.status !== "unauthenticated") this.logCall(context, outcome, 0, currentTrace());
    if (this.feed?.listening) this.feed.publish(context, outcome, undefined);
    await this.inner.refuse(context, outcome);
  }

  /**
   * One line per call: who, what, how it ended, how long, and its W3C trace (arguments stay in the
   * audit log, redacted). The trace fields are named as OpenTelemetry's pino instrumentation names
   * them (trace_id, span_id), so log pipelines that link logs to traces find them.
   */
  private logCall(context: AuditContext, outcome: AuditOutcome, seconds: number, trace: TraceContext | undefined): void {
    if (!this.logger.isLevelEnabled("info")) return;
    this.logger.info(
      {
        request: context.requestId,
        session: context.sessionId,
        subject: context.subject,
        method: context.method,
        backend: context.backend,
        target: context.target,
        status: outcome.status,
        ...(outcome.errorCode !== undefined && { errorCode: outcome.errorCode }),
        ms: Math.round(seconds * 10_000) / 10,
        ...(trace && { trace_id: trace.traceId, span_id: trace.spanId }),
        ...(trace?.parentId !== undefined && { parent_span_id: trace.parentId }),
      },
      "call",
    );
  }
}
