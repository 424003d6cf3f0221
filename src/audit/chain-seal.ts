import type { AuditOutcomeEvent, AuditOutcomeFields, AuditRow } from "./audit-record.ts";
import type { AuditAppend } from "./audit-repository.ts";
import type { UnsealedRow } from "./audit-row.ts";
import { beginHash, outcomeHash } from "./chain-hash.ts";

/** Where a record's begin event landed in a chain. */
export interface SealedPosition {
  chainId: string;
  seq: number;
  hash: string;
}

/** A record waiting for (or holding) its place in the chain. */
export interface PendingRecord {
  row: UnsealedRow;
  /** Set when sealed; cleared again if that append failed, so a retry seals it afresh. */
  sealed?: SealedPosition;
}

export type ChainItem = { type: "record"; record: PendingRecord } | { type: "outcome"; record: PendingRecord; fields: AuditOutcomeFields };

export interface Head {
  seq: number;
  hash: string;
}

/**
 * Gives each item of a batch its position after `head`, in order, and computes the hashes: the
 * append that commits them, the head after it, and the outcomes that could not be sealed because
 * their record is on another chain (this process's earlier chain, lost to a takeover).
 */
export function sealBatch(chainId: string, head: Head, items: readonly ChainItem[], at: number): { append: AuditAppend; orphaned: ChainItem[] } {
  let seq = head.seq;
  let prev = head.hash;
  const records: AuditRow[] = [];
  const outcomes: AuditOutcomeEvent[] = [];
  const orphaned: ChainItem[] = [];
  for (const item of items) {
    if (item.type === "record") {
      seq += 1;
      const row = { ...item.record.row, chainId, seq, prevHash: prev, hash: "" };
      row.hash = beginHash(row, prev);
      item.record.sealed = { chainId, seq, hash: row.hash };
      records.push(row);
      prev = row.hash;
      continue;
    }
    const begin = item.record.sealed;
    // Records are sealed before their outcomes (queue order), so an unsealed one was dropped.
    if (!begin || begin.chainId !== chainId) {
      orphaned.push(item);
      continue;
    }
    seq += 1;
    const hash = outcomeHash(chainId, seq, prev, begin, item.fields);
    outcomes.push({ ...item.fields, seq: begin.seq, outcomeSeq: seq, outcomePrevHash: prev, outcomeHash: hash });
    prev = hash;
  }
  return { append: { chainId, fromSeq: head.seq, head: { seq, hash: prev }, records, outcomes, at }, orphaned };
}

/** Forgets the positions a failed append gave its records. */
export function unsealBatch(items: readonly ChainItem[], chainId: string, fromSeq: number): void {
  for (const item of items) {
    if (item.type === "record" && item.record.sealed?.chainId === chainId && item.record.sealed.seq > fromSeq) delete item.record.sealed;
  }
}
