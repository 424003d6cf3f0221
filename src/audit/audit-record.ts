import type { AuditStatus } from "./auditor.ts";

/** A record's status as stored: a call still in flight is "pending" until its outcome is committed. */
export type AuditRecordStatus = AuditStatus | "pending";

export const AUDIT_RECORD_STATUSES = [
  "ok",
  "error",
  "denied",
  "rate_limited",
  "unauthenticated",
  "invalid",
  "timeout",
  "cancelled",
  "incomplete",
  "pending",
] as const satisfies readonly AuditRecordStatus[];

/**
 * "call": a forwarded call, two chain events (begin, outcome). "refusal": a refused request, one
 * event, complete when written. "event": what is neither, one complete event too: a change made
 * through the admin API (its before and after), a tool definition drifting or approved.
 */
export type AuditRecordKind = "call" | "refusal" | "event";

/**
 * One audit record as stored in audit_events: the columns, camel-cased. Text fields hold exactly
 * what is hashed (roles and arguments are JSON text), so verification never re-serialises.
 */
export interface AuditRow {
  /** Database id; assigned on insert, absent before. Not hashed (it differs between replicas' inserts). */
  id?: number;
  chainId: string;
  seq: number;
  prevHash: string;
  hash: string;
  kind: AuditRecordKind;
  ts: number;
  requestId: string | null;
  sessionId: string | null;
  subject: string | null;
  roles: string | null;
  clientName: string | null;
  clientVersion: string | null;
  backend: string | null;
  target: string | null;
  method: string;
  arguments: string | null;
  bytesIn: number | null;
  status: AuditRecordStatus;
  errorCode: number | null;
  errorMessage: string | null;
  durationMs: number | null;
  bytesOut: number | null;
  decision: string | null;
  rule: string | null;
  finishedAt: number | null;
  outcomeSeq: number | null;
  outcomePrevHash: string | null;
  outcomeHash: string | null;
  /** Null when the call's was not known, and on every record written before it was recorded; hashed only when set (chain-hash.ts). */
  protocolVersion: string | null;
  /**
   * The MCP 2026-07-28 input_required exchange this request is a round of (the client answers a
   * question by calling again, so one logical call is several requests). Set by the round's
   * outcome, null otherwise and on every record written before it was recorded; hashed only when set.
   */
  exchange: string | null;
  /**
   * The credential mode the call reached its backend with (backend --auth: static, gateway-assertion,
   * per-subject-secret…), never a value. Null for records of no backend and on every record written
   * before it was recorded; hashed only when set.
   */
  credential: string | null;
  /**
   * The id of the per-caller credential the call's backend request carried (a per-subject secret's
   * id, an exchanged token's or a gateway assertion's `jti`), never a value. Set by the call's
   * outcome event (audit_outcomes, migration 0012), null otherwise; hashed only when set.
   */
  credentialId: string | null;
}

/** The outcome fields of a record: written with a refusal, or later by the call's outcome event. */
export type AuditOutcomeFields = Pick<
  AuditRow,
  "status" | "errorCode" | "errorMessage" | "durationMs" | "bytesOut" | "decision" | "rule" | "exchange" | "credentialId"
> & {
  finishedAt: number;
};

/** A call's outcome event: the fields, its own chain position and hash, and the record it finishes. */
export interface AuditOutcomeEvent extends AuditOutcomeFields {
  /** The call's begin event (same chain). */
  seq: number;
  outcomeSeq: number;
  outcomePrevHash: string;
  outcomeHash: string;
}

/** A chain's registration and head: the last committed event. */
export interface AuditChain {
  chainId: string;
  /** The gateway instance name (MCPGW_AUDIT_INSTANCE, default the host name). */
  instance: string;
  host: string;
  pid: number;
  startedAt: number;
  heartbeatAt: number;
  endedAt: number | null;
  headSeq: number;
  headHash: string;
}

/** Where a pruned chain's verification starts. */
export interface AuditCheckpoint {
  chainId: string;
  seq: number;
  hash: string;
  prunedBefore: number;
  prunedCount: number;
  createdAt: number;
}

/** Which records a listing, tail or export wants. */
export interface AuditFilter {
  subject?: string;
  /** BACKEND/TOOL glob (`*`, `?`); a pattern without "/" matches that tool on any backend. */
  tool?: string;
  status?: AuditRecordStatus;
  /** Records whose call started at or after this time (epoch ms). */
  since?: number;
  /** Records whose call started before this time (epoch ms). */
  until?: number;
  /** Records of calls to this backend. */
  backend?: string;
}
