import type { AuditOutcomeFields, AuditRow } from "./audit-record.ts";

/**
 * The hashes of the audit chain (docs/audit.md). Each chain event's hash is SHA-256 over a
 * canonical JSON array: a version tag, the event kind, the chain, the event's position, the
 * previous event's hash, then the fields the event vouches for, in a fixed order, then the set
 * ones of the fields added since (see beginHash). Arrays, not objects, so key order can never
 * differ between writer and verifier; values are hashed as stored (roles and arguments are the
 * stored JSON text), so nothing is re-serialised.
 */
const VERSION = "mcpgw-audit-v1";

/** One-shot SHA-256 (half the cost of a hasher object per event, measured). */
function sha256(text: string): string {
  return Bun.SHA256.hash(text, "hex");
}

/** The hash a chain's first event links to: distinct per chain, so events cannot be spliced between chains. */
export function genesisHash(chainId: string): string {
  return sha256(`${VERSION} genesis ${chainId}`);
}

/** The fields of a record that its first (begin) event vouches for. */
export type BeginContent = Pick<
  AuditRow,
  | "chainId"
  | "seq"
  | "kind"
  | "ts"
  | "requestId"
  | "sessionId"
  | "subject"
  | "roles"
  | "clientName"
  | "clientVersion"
  | "backend"
  | "target"
  | "method"
  | "arguments"
  | "bytesIn"
  // A refusal is complete in one event, so it vouches for its outcome too; a call's begin does not.
  | "status"
  | "errorCode"
  | "errorMessage"
  | "durationMs"
  | "bytesOut"
  | "decision"
  | "rule"
  | "finishedAt"
  | "protocolVersion"
  | "credential"
  | "exchange"
>;

/**
 * Hash of a record's begin event (a call's write-ahead record, or a whole refusal).
 *
 * A field added to the record after the v1 layout was fixed (protocolVersion so far) is hashed
 * as a name-value pair after the fixed fields, and only when set. Records written before the
 * field existed hold null there, so they hash exactly as when they were written and still
 * verify; bumping VERSION instead would leave the verifier unable to tell which layout an old
 * record was written under. Setting, clearing or editing the column afterwards changes the
 * array, so it is as tamper-evident as the fixed fields. The name is hashed with the value so
 * that a later optional field can never be read as this one (the fixed part has one length per
 * kind, so what follows it is unambiguous).
 */
export function beginHash(row: BeginContent, prevHash: string): string {
  const fields: unknown[] = [
    VERSION,
    row.kind,
    row.chainId,
    row.seq,
    prevHash,
    row.ts,
    row.requestId,
    row.sessionId,
    row.subject,
    row.roles,
    row.clientName,
    row.clientVersion,
    row.backend,
    row.target,
    row.method,
    row.arguments,
    row.bytesIn,
  ];
  if (row.kind !== "call") fields.push(...outcomeValues(row));
  const protocolVersion = row.protocolVersion ?? null;
  if (protocolVersion !== null) fields.push("protocolVersion", protocolVersion);
  const credential = row.credential ?? null;
  if (credential !== null) fields.push("credential", credential);
  if (row.kind !== "call") pushExchange(fields, row.exchange);
  return sha256(JSON.stringify(fields));
}

/**
 * Hash of a call's outcome event. It names the begin event by position and hash, so an outcome
 * cannot be moved to another record, and the record's begin content cannot change without
 * breaking the outcome too. The exchange and the credential's id, added after the v1 layout, follow
 * as name-value pairs only when set (as protocolVersion does in beginHash).
 */
export function outcomeHash(chainId: string, outcomeSeq: number, prevHash: string, begin: { seq: number; hash: string }, outcome: AuditOutcomeFields): string {
  const fields: unknown[] = [VERSION, "outcome", chainId, outcomeSeq, prevHash, begin.seq, begin.hash, ...outcomeValues(outcome)];
  pushExchange(fields, outcome.exchange);
  if (outcome.credentialId !== null && outcome.credentialId !== undefined) fields.push("credentialId", outcome.credentialId);
  return sha256(JSON.stringify(fields));
}

function pushExchange(fields: unknown[], exchange: string | null | undefined): void {
  if (exchange !== null && exchange !== undefined) fields.push("exchange", exchange);
}

type OutcomeValues = Omit<AuditOutcomeFields, "finishedAt" | "credentialId"> & { finishedAt: number | null };

function outcomeValues(o: OutcomeValues): unknown[] {
  return [
    o.status,
    o.errorCode ?? null,
    o.errorMessage ?? null,
    o.durationMs ?? null,
    o.bytesOut ?? null,
    o.decision ?? null,
    o.rule ?? null,
    o.finishedAt ?? null,
  ];
}
