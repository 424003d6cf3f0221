import type { AuditContext, AuditOutcome, AuditStatus } from "../audit/auditor.ts";

/**
 * The calls and refusals this gateway process audits, as they happen: ObservingAuditor publishes
 * each one here, and whoever listens (the admin API's live stream, the per-minute stats) is told
 * at once, synchronously. Nothing is kept: a listener that wants history keeps its own. With no
 * listener, publishing costs the caller one `if` (`listening`), and nothing is built.
 */

/** One call or refusal as the live stream sends it (GET /v1/admin/calls/stream). */
export interface CallEvent {
  /** When the call ended or was refused (ISO 8601). */
  ts: string;
  subject: string | null;
  roles: string[];
  client: string | null;
  backend: string | null;
  method: string;
  target: string | null;
  status: AuditStatus;
  /** How long the call took; null for a refusal (nothing was forwarded). */
  latencyMs: number | null;
  errorCode: number | null;
  errorMessage: string | null;
  /** The policy rule that decided, when there was a decision. */
  rule: string | null;
}

/**
 * A listener is given the audit's own context and outcome (not copies), so that one that only
 * counts (the stats) builds nothing; it must not change them. `latencyMs` is undefined for refusals.
 */
export type CallListener = (context: AuditContext, outcome: AuditOutcome, latencyMs: number | undefined, at: number) => void;

export class CallFeed {
  private readonly listeners = new Set<CallListener>();

  constructor(private readonly onListenerError: (err: unknown) => void = () => undefined) {}

  /** Whether anyone listens: the one test the hot path makes before publishing. */
  get listening(): boolean {
    return this.listeners.size > 0;
  }

  /** How many listen now (the stats count as one). */
  get listenerCount(): number {
    return this.listeners.size;
  }

  /** Adds a listener; the function returned removes it (calling it twice is harmless). */
  subscribe(listener: CallListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Tells every listener; one that throws is reported and does not keep the call or the others from going on. */
  publish(context: AuditContext, outcome: AuditOutcome, latencyMs: number | undefined, at = Date.now()): void {
    for (const listener of this.listeners) {
      try {
        listener(context, outcome, latencyMs, at);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }
}

/** Longest text a field of a CallEvent carries: a backend's error or a caller's URI may be megabytes; a live view needs the start. */
export const MAX_EVENT_TEXT = 1_000;

function clip<T extends string | undefined>(text: T): T {
  return (text !== undefined && text.length > MAX_EVENT_TEXT ? `${text.slice(0, MAX_EVENT_TEXT)}…` : text) as T;
}

/** The event the live stream sends for one published call (long texts clipped to MAX_EVENT_TEXT). */
export function callEvent(context: AuditContext, outcome: AuditOutcome, latencyMs: number | undefined, at: number): CallEvent {
  return {
    ts: new Date(at).toISOString(),
    subject: clip(context.subject) ?? null,
    roles: (context.roles ?? []).map(clip),
    client: clip(context.clientName) ?? null,
    backend: clip(context.backend) ?? null,
    method: clip(context.method),
    target: clip(context.target) ?? null,
    status: outcome.status,
    latencyMs: latencyMs === undefined ? null : Math.round(latencyMs * 10) / 10,
    errorCode: outcome.errorCode ?? null,
    errorMessage: clip(outcome.errorMessage) ?? null,
    rule: clip(outcome.rule) ?? null,
  };
}
