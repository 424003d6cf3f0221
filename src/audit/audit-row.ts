import type { AuditRow } from "./audit-record.ts";
import type { AuditOutcomeFields } from "./audit-record.ts";
import type { AuditContext, AuditOutcome } from "./auditor.ts";
import type { Redactor } from "./redact.ts";

/** A record before it has a place in a chain (seq, prev hash and hash are given when it is sealed). */
export type UnsealedRow = Omit<AuditRow, "id" | "chainId" | "seq" | "prevHash" | "hash">;

const INT32_MAX = 2_147_483_647;

/** A value for an INTEGER column, or null: a database must never refuse a record over a number. */
function int32(value: unknown): number | null {
  return typeof value === "number" && Number.isInteger(value) && Math.abs(value) <= INT32_MAX ? value : null;
}

/** Text for a column: bounded, so one caller cannot make records of unbounded size. */
function bounded(value: unknown, max: number): string | null {
  if (value === undefined || value === null) return null;
  const text = String(value);
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** Builds the stored fields of records from the pipeline's context and outcomes; made once per gateway. */
export class AuditRowBuilder {
  constructor(private readonly redactor: Redactor) {}

  /** A call's write-ahead record: everything but the outcome, status pending. */
  call(context: AuditContext, ts: number): UnsealedRow {
    return { ...this.common(context, ts), kind: "call", status: "pending", ...NO_OUTCOME };
  }

  /** A refusal, or an event that is not a call (kind "event"): one complete record. */
  refusal(context: AuditContext, outcome: AuditOutcome, ts: number, kind: "refusal" | "event" = "refusal"): UnsealedRow {
    const fields = this.outcome(outcome, null, ts);
    return { ...this.common(context, ts), kind, ...fields, outcomeSeq: null, outcomePrevHash: null, outcomeHash: null };
  }

  /** The outcome fields of a call that ended (or a refusal). */
  outcome(outcome: AuditOutcome, durationMs: number | null, finishedAt: number): AuditOutcomeFields {
    return {
      status: outcome.status,
      errorCode: int32(outcome.errorCode),
      // Backends echo arguments in error messages; the same value scrubbing applies.
      errorMessage: outcome.errorMessage === undefined ? null : this.redactor.text(outcome.errorMessage, 1_024),
      durationMs: durationMs === null ? null : int32(Math.round(durationMs)),
      bytesOut: int32(outcome.bytesOut),
      decision: bounded(outcome.decision, 64),
      rule: bounded(outcome.rule, 512),
      exchange: bounded(outcome.exchange, 64),
      credentialId: bounded(outcome.credentialId, 128),
      finishedAt,
    };
  }

  private common(context: AuditContext, ts: number) {
    return {
      ts,
      requestId: bounded(context.requestId, 256),
      sessionId: bounded(context.sessionId, 256),
      subject: bounded(context.subject, 512),
      roles: context.roles === undefined ? null : bounded(JSON.stringify(context.roles.map((role) => bounded(role, 128))), 4_096),
      clientName: bounded(context.clientName, 256),
      clientVersion: bounded(context.clientVersion, 128),
      backend: bounded(context.backend, 128),
      // A resource URI can carry credentials (https://user:pass@…, ?token=…).
      target: context.target === undefined ? null : this.redactor.text(context.target, 1_024),
      method: bounded(context.method, 256) ?? "",
      arguments: this.redactor.arguments(context.arguments),
      bytesIn: int32(context.bytesIn),
      protocolVersion: bounded(context.protocolVersion, 64),
      credential: bounded(context.credential, 64),
    };
  }
}

const NO_OUTCOME = {
  exchange: null,
  credentialId: null,
  errorCode: null,
  errorMessage: null,
  durationMs: null,
  bytesOut: null,
  decision: null,
  rule: null,
  finishedAt: null,
  outcomeSeq: null,
  outcomePrevHash: null,
  outcomeHash: null,
} as const;
