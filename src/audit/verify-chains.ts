import type { AuditRow } from "./audit-record.ts";
import type { AuditRepository } from "./audit-repository.ts";
import { beginHash, genesisHash, outcomeHash } from "./chain-hash.ts";

/** What is wrong at a chain's first break. */
export type ChainProblem = "altered" | "deleted" | "reordered" | "duplicated" | "no-head";

export interface ChainBreak {
  seq: number;
  problem: ChainProblem;
  detail: string;
  /** The call the broken event belongs to, when there is one. */
  requestId?: string | null;
}

export interface ChainReport {
  chainId: string;
  ok: boolean;
  /** Events checked (a call has two: begin and outcome; a refusal one). */
  events: number;
  /** The first position checked minus one: 0, or the checkpoint left by prune. */
  from: number;
  /** The last position checked. */
  to: number;
  break?: ChainBreak;
}

interface ChainEvent {
  pos: number;
  kind: "begin" | "outcome";
  row: AuditRow;
}

const PAGE = 1_000;
/** How far a moved event is looked for, on the failure path only (each try is one hash). */
const MOVE_WINDOW = 64;

/** Verifies every chain in the store, first break of each; `onChain` hears each report as it is made. */
export async function verifyAllChains(repo: AuditRepository, onChain?: (report: ChainReport) => void): Promise<ChainReport[]> {
  const reports: ChainReport[] = [];
  for (const chainId of await repo.chainIds()) {
    const report = await verifyChain(repo, chainId);
    onChain?.(report);
    reports.push(report);
  }
  return reports;
}

/**
 * Recomputes a chain from its start (genesis, or prune's checkpoint) and reports the first break:
 * an event whose content does not match its hash (altered), one stored at another position than
 * it was written at (reordered), a missing position (deleted), two events at one position, or a
 * chain whose head (audit_chains, moved in the same transaction as every append) disagrees with
 * its last event (the newest records deleted). With `upTo`, only positions up to it are checked
 * (prune verifies what it is about to remove).
 */
export async function verifyChain(repo: AuditRepository, chainId: string, options: { upTo?: number } = {}): Promise<ChainReport> {
  const checkpoint = await repo.checkpoint(chainId);
  const from = checkpoint?.seq ?? 0;
  let prev = checkpoint?.hash ?? genesisHash(chainId);
  let expected = from + 1;
  let events = 0;
  const report = (fault?: ChainBreak): ChainReport => ({ chainId, ok: fault === undefined, events, from, to: expected - 1, ...(fault && { break: fault }) });

  for await (const event of chainEvents(repo, chainId, from)) {
    if (options.upTo !== undefined && event.pos > options.upTo) break;
    const { pos, kind, row } = event;
    const at = { seq: pos, requestId: row.requestId };
    if (pos < expected) return report({ ...at, problem: "duplicated", detail: `two events claim seq ${pos} (a record was copied or its seq edited)` });
    if (pos > expected) {
      return report({
        ...at,
        seq: expected,
        problem: "deleted",
        detail: `${range(expected, pos - 1)} ${pos - expected === 1 ? "is" : "are"} missing: records were deleted`,
      });
    }
    const storedPrev = kind === "begin" ? row.prevHash : row.outcomePrevHash;
    const storedHash = kind === "begin" ? row.hash : row.outcomeHash;
    const inconsistency = kind === "begin" ? outcomeShapeProblem(row) : undefined;
    if (inconsistency) return report({ ...at, problem: "altered", detail: inconsistency });
    if (eventHash(chainId, event, pos, storedPrev ?? "") !== storedHash) {
      const writtenAt = findWrittenPosition(chainId, event, storedPrev ?? "", storedHash ?? "");
      if (writtenAt !== undefined) {
        return report({ ...at, problem: "reordered", detail: `the ${describe(event)} at seq ${pos} was written as seq ${writtenAt}: records were moved` });
      }
      return report({ ...at, problem: "altered", detail: `the ${describe(event)} at seq ${pos} does not match its hash: its content was changed` });
    }
    if (storedPrev !== prev) {
      // This event is intact but was chained to something else: the one before it was rewritten
      // (hash recomputed to hide it), or a run of records was replaced.
      return report({ seq: pos - 1, problem: "altered", detail: `seq ${pos - 1} is not the event seq ${pos} was chained to: it was rewritten or replaced` });
    }
    prev = storedHash;
    expected = pos + 1;
    events += 1;
  }

  if (options.upTo !== undefined) {
    if (expected - 1 < options.upTo)
      return report({ seq: expected, problem: "deleted", detail: `${range(expected, options.upTo)} missing: records were deleted` });
    return report();
  }
  const chain = await repo.chain(chainId);
  const last = expected - 1;
  if (!chain)
    return report({
      seq: last,
      problem: "no-head",
      detail: "the chain's head row (audit_chains) is missing: it was deleted, so the chain's end cannot be checked",
    });
  if (chain.headSeq > last) {
    return report({ seq: last + 1, problem: "deleted", detail: `${range(last + 1, chain.headSeq)} missing: the newest records of the chain were deleted` });
  }
  if (chain.headSeq < last)
    return report({
      seq: chain.headSeq,
      problem: "altered",
      detail: `records go to seq ${last} but the chain head says ${chain.headSeq}: the head was edited or records were added`,
    });
  if (chain.headHash !== prev)
    return report({ seq: last, problem: "altered", detail: `the last event (seq ${last}) is not the one the chain head recorded: it was rewritten` });
  return report();
}

/** A chain's events in position order: begin events and outcome events, merged from two paged scans. */
async function* chainEvents(repo: AuditRepository, chainId: string, after: number): AsyncGenerator<ChainEvent> {
  const begins = pager(
    (cursor) => repo.beginEvents(chainId, cursor, PAGE),
    (row) => row.seq,
    after,
  );
  const outcomes = pager(
    (cursor) => repo.outcomeEvents(chainId, cursor, PAGE),
    (row) => row.outcomeSeq ?? 0,
    after,
  );
  let b = await begins.next();
  let o = await outcomes.next();
  while (!b.done || !o.done) {
    // On a tie the begin comes first; the outcome then reads as a duplicate of that position.
    if (!b.done && (o.done || b.value.seq <= (o.value.outcomeSeq ?? 0))) {
      yield { pos: b.value.seq, kind: "begin", row: b.value };
      b = await begins.next();
    } else if (!o.done) {
      yield { pos: o.value.outcomeSeq ?? 0, kind: "outcome", row: o.value };
      o = await outcomes.next();
    }
  }
}

async function* pager(fetch: (cursor: number) => Promise<AuditRow[]>, position: (row: AuditRow) => number, after: number): AsyncGenerator<AuditRow> {
  let cursor = after;
  for (;;) {
    const page = await fetch(cursor);
    yield* page;
    if (page.length < PAGE) return;
    cursor = position(page[page.length - 1]!);
  }
}

function eventHash(chainId: string, event: ChainEvent, pos: number, prev: string): string {
  const { row } = event;
  if (event.kind === "begin") return beginHash({ ...row, chainId, seq: pos }, prev);
  return outcomeHash(chainId, pos, prev, { seq: row.seq, hash: row.hash }, { ...row, finishedAt: row.finishedAt ?? 0 });
}

/** The position an event's stored hash was computed for, when it is near but not where it is stored. */
function findWrittenPosition(chainId: string, event: ChainEvent, prev: string, stored: string): number | undefined {
  for (let distance = 1; distance <= MOVE_WINDOW; distance++) {
    for (const candidate of [event.pos - distance, event.pos + distance]) {
      if (candidate > 0 && eventHash(chainId, event, candidate, prev) === stored) return candidate;
    }
  }
  return undefined;
}

/** A record's outcome columns must agree with its chain events: no status without an outcome event. */
function outcomeShapeProblem(row: AuditRow): string | undefined {
  if (row.kind === "call" && row.outcomeSeq === null && (row.status !== "pending" || row.finishedAt !== null)) {
    return `the call at seq ${row.seq} shows status "${row.status}" but no outcome was ever chained for it: its outcome was edited in`;
  }
  if (row.kind === "call" && row.outcomeSeq !== null && row.status === "pending") {
    return `the call at seq ${row.seq} has an outcome event but shows status "pending": its outcome was edited out`;
  }
  if (row.kind !== "call" && row.outcomeSeq !== null) return `the ${row.kind} at seq ${row.seq} carries an outcome event, which only calls have`;
  return undefined;
}

function describe(event: ChainEvent): string {
  if (event.kind === "outcome") return "outcome";
  return event.row.kind === "call" ? "call record" : event.row.kind;
}

function range(first: number, last: number): string {
  return first === last ? `seq ${first}` : `seq ${first}–${last}`;
}
