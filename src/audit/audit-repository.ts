import type { AuditChain, AuditCheckpoint, AuditFilter, AuditOutcomeEvent, AuditRow } from "./audit-record.ts";

/** One append to a chain: everything in it commits together, or nothing does. */
export interface AuditAppend {
  chainId: string;
  /** The head this append extends: the stored head must still be here (compare-and-set). */
  fromSeq: number;
  /** The head after this append (the last event's position and hash; unchanged for a heartbeat). */
  head: { seq: number; hash: string };
  /** New records (a call's begin event, or a whole refusal). */
  records: AuditRow[];
  /** Outcome events of this chain's pending calls. */
  outcomes: AuditOutcomeEvent[];
  /** The writer's clock: stored as the chain's heartbeat (live appends). */
  at: number;
  /** Marks the chain ended (a clean shutdown, or a takeover of a dead chain). */
  end?: boolean;
  /**
   * A takeover: another process finishing a dead chain (its unfinished calls marked incomplete).
   * Allowed on an ended chain; the heartbeat stays the dead writer's last.
   */
  takeover?: boolean;
}

/** One page of records in call-time order, for tail and export. */
export interface AuditListQuery {
  filter: AuditFilter;
  limit: number;
  /** Newest first (for "the last N"); otherwise oldest first. */
  newestFirst?: boolean;
  /** Keyset: records after (ts, id) in the listing's order. */
  after?: { ts: number; id: number };
}

/** The audit log's storage: a repository over audit_events, audit_chains and audit_checkpoints. */
export interface AuditRepository {
  /** Registers a chain, its head at seq 0 with the given (genesis) hash. */
  createChain(chain: AuditChain): Promise<void>;
  /**
   * Appends to a chain in one transaction. AuditChainConflictError, with nothing written, when
   * the stored head is not `fromSeq` (another process appended or ended the chain) or when an
   * outcome's call is no longer pending (listed in `notPending`).
   */
  append(write: AuditAppend): Promise<void>;
  chain(chainId: string): Promise<AuditChain | undefined>;
  chains(): Promise<AuditChain[]>;
  /** Every chain id found in chains, events or checkpoints (a chain row may have been deleted). */
  chainIds(): Promise<string[]>;
  /** Chains that still have pending calls. */
  chainsWithPendingCalls(): Promise<AuditChain[]>;
  /** A chain's pending calls after seq `afterSeq`, in seq order. */
  pendingCalls(chainId: string, afterSeq: number, limit: number): Promise<AuditRow[]>;
  list(query: AuditListQuery): Promise<AuditRow[]>;
  count(filter: AuditFilter): Promise<number>;
  /**
   * Records of a chain that became final (outcome committed, or a refusal) at chain positions
   * after `afterPos`, in chain order, with that position. Commits within a chain are in order, so
   * this is an exact cursor for following the log.
   */
  finalizedAfter(chainId: string, afterPos: number, filter: AuditFilter, limit: number): Promise<{ pos: number; row: AuditRow }[]>;
  /** Records of a chain whose begin event is after `afterSeq`, in seq order (verification). */
  beginEvents(chainId: string, afterSeq: number, limit: number): Promise<AuditRow[]>;
  /** Records of a chain whose outcome event is after `afterSeq`, in outcome order (verification). */
  outcomeEvents(chainId: string, afterSeq: number, limit: number): Promise<AuditRow[]>;
  checkpoint(chainId: string): Promise<AuditCheckpoint | undefined>;
  /**
   * The last chain position up to which every event belongs to a record finished before `before`,
   * and no such record has an event beyond it: prune may remove that prefix and nothing else.
   */
  prunablePrefix(chainId: string, before: number): Promise<number>;
  /** How many records of a chain have their begin event at or before `seq` (what pruning to `seq` removes). */
  countUpTo(chainId: string, seq: number): Promise<number>;
  /** The hash of the event at a chain position (a begin or an outcome), if there is one. */
  eventHash(chainId: string, seq: number): Promise<string | undefined>;
  /** Removes a chain's records up to `checkpoint.seq` and stores the checkpoint, in one transaction; returns how many records. */
  pruneTo(chainId: string, checkpoint: { seq: number; hash: string }, before: number, now: number): Promise<number>;
}
