import { hostname } from "node:os";
import { describeError } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import { AuditChainConflictError, AuditUnavailableError } from "./audit-errors.ts";
import type { AuditAppend, AuditRepository } from "./audit-repository.ts";
import { AuditRowBuilder } from "./audit-row.ts";
import type { AuditContext, AuditEntry, AuditOutcome, Auditor } from "./auditor.ts";
import { genesisHash } from "./chain-hash.ts";
import { type ChainItem, type Head, type PendingRecord, sealBatch, unsealBatch } from "./chain-seal.ts";
import { instanceFromHost, newChainId } from "./chain-identity.ts";
import { markUnfinishedCalls } from "./unfinished-calls.ts";
import { createRedactor } from "./redact.ts";
import type { AuditSettings } from "../config/audit-settings.ts";

/** What /readyz and logs say about the audit log. */
export interface AuditHealth {
  available: boolean;
  failOpen: boolean;
  /** Why the last commit failed, while unavailable. */
  reason?: string;
  /** Records and outcomes waiting to be committed. */
  queued: number;
}

export interface StoreAuditorOptions {
  repository: AuditRepository;
  logger: Logger;
  settings: AuditSettings;
  /** Most records (and outcomes) per transaction. */
  maxBatch?: number;
  /** While unavailable: how often to try the store again. */
  retryMs?: number;
  /** How often an idle gateway proves its chain is alive (and the store writable). */
  heartbeatMs?: number;
  /** A chain without a heartbeat for this long is dead: its unfinished calls are marked incomplete. */
  staleAfterMs?: number;
  /** Most records and outcomes kept in memory while the store is unavailable. */
  maxQueued?: number;
  /** Told of each group commit that wrote records or outcomes: how many, and how long the transaction took (metrics). */
  onCommit?: (items: number, seconds: number) => void;
}

// retryMs bounds how long calls stay refused after the database returns (docs/audit.md promises
// within a second, with room for a slow connect); a refused connection costs next to nothing.
const DEFAULTS = { maxBatch: 1_000, retryMs: 250, heartbeatMs: 30_000, staleAfterMs: 10 * 60_000, maxQueued: 20_000 };

/** What waits on one queued record: the begin() or refuse() that wrote it. */
interface Waiter {
  /** A call (write-ahead: its caller is waiting to forward) or a refusal (complete already). */
  kind: "call" | "refusal";
  resolve(): void;
  reject(err: Error): void;
}

type QueuedItem = ChainItem & { waiter?: Waiter };

/**
 * The Auditor over the store (docs/audit.md). Records are appended to this process's own hash
 * chain with group commit: every record and outcome queued while a transaction is in flight goes
 * into the next one (at most `maxBatch`), so concurrent calls share commits and the chain needs no
 * lock beyond "one append at a time per process".
 *
 * Write-ahead: begin() resolves when the call's record is committed. When a commit fails the log
 * is unavailable: fail closed (default), calls are refused at once until a retry succeeds; fail
 * open, they proceed and their records wait in memory (bounded) for the store to return.
 * Outcomes and refusals are never dropped while they fit in memory: their calls already happened.
 */
export class StoreAuditor implements Auditor {
  private readonly repo: AuditRepository;
  private readonly log: Logger;
  private readonly rows: AuditRowBuilder;
  private readonly failOpen: boolean;
  private readonly options: typeof DEFAULTS;
  private readonly onCommit: ((items: number, seconds: number) => void) | undefined;
  private chainId: string;
  private head: Head;
  private queue: QueuedItem[] = [];
  private flushing: Promise<void> | undefined;
  private flushScheduled = false;
  private available = true;
  private reason: string | undefined;
  private retryTimer: ReturnType<typeof setInterval> | undefined;
  /**
   * Appends from the current head that failed for want of the store: a crash between a COMMIT and its answer may
   * have written one of them after all (the first attempt, or any retry). Cleared by the next append that succeeds.
   */
  private inDoubt: InDoubtAppend[] = [];
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private rescanTimer: ReturnType<typeof setInterval> | undefined;
  private closed = false;
  /** Counters for logs and the benchmark. */
  readonly stats = { commits: 0, committed: 0, refusedUnaudited: 0, proceededUnaudited: 0, lost: 0, lastCommitMs: 0 };

  private constructor(
    options: StoreAuditorOptions,
    private readonly identity: { instance: string; host: string; pid: number },
    chainId: string,
  ) {
    this.repo = options.repository;
    this.log = options.logger.child({ component: "audit" });
    this.rows = new AuditRowBuilder(createRedactor({ keys: options.settings.redactKeys, maxArgumentBytes: options.settings.argumentsMaxBytes }));
    this.failOpen = options.settings.failOpen;
    this.options = {
      maxBatch: options.maxBatch ?? DEFAULTS.maxBatch,
      retryMs: options.retryMs ?? DEFAULTS.retryMs,
      heartbeatMs: options.heartbeatMs ?? DEFAULTS.heartbeatMs,
      staleAfterMs: options.staleAfterMs ?? DEFAULTS.staleAfterMs,
      maxQueued: options.maxQueued ?? DEFAULTS.maxQueued,
    };
    this.onCommit = options.onCommit;
    this.chainId = chainId;
    this.head = { seq: 0, hash: genesisHash(chainId) };
  }

  /**
   * Opens this process's chain, marks calls left unfinished by dead gateways (a previous run of
   * this instance, a cleanly ended chain, or one silent for `staleAfterMs`) as incomplete, and
   * starts the heartbeat.
   */
  static async start(options: StoreAuditorOptions): Promise<StoreAuditor> {
    const identity = { instance: options.settings.instance ?? instanceFromHost(hostname()), host: hostname(), pid: process.pid };
    const auditor = new StoreAuditor(options, identity, newChainId(identity.instance));
    await auditor.openChain();
    await auditor.markUnfinished();
    auditor.heartbeatTimer = setInterval(() => void auditor.heartbeat(), auditor.options.heartbeatMs);
    auditor.heartbeatTimer.unref?.();
    // A gateway that dies later is found by its stale heartbeat, not only at the next start.
    auditor.rescanTimer = setInterval(
      () => void auditor.markUnfinished().catch((err) => auditor.log.warn({ err: describeError(err) }, "scan for unfinished calls failed")),
      auditor.options.staleAfterMs / 2,
    );
    auditor.rescanTimer.unref?.();
    auditor.log.info({ chain: auditor.chainId, failOpen: auditor.failOpen }, "audit log ready");
    return auditor;
  }

  /** Marks calls left unfinished by dead gateways' chains as incomplete (see unfinished-calls.ts). */
  private async markUnfinished(): Promise<void> {
    if (this.closed) return;
    const marked = await markUnfinishedCalls(this.repo, {
      self: { ...this.identity, chainId: this.chainId },
      now: Date.now(),
      staleAfterMs: this.options.staleAfterMs,
      log: this.log,
    });
    if (marked.calls > 0) this.log.warn({ calls: marked.calls, chains: marked.chains }, "marked calls left unfinished by a stopped gateway as incomplete");
  }

  /** This process's chain id. */
  get chain(): string {
    return this.chainId;
  }

  /** Records and outcomes waiting to be committed (metrics read it at every scrape). */
  get queued(): number {
    return this.queue.length;
  }

  health(): AuditHealth {
    return { available: this.available, failOpen: this.failOpen, queued: this.queue.length, ...(this.reason !== undefined && { reason: this.reason }) };
  }

  /** Resolves once nothing is queued or being committed (while the store is available). */
  async idle(): Promise<void> {
    while (this.flushing || this.flushScheduled || (this.available && this.queue.length > 0)) {
      await (this.flushing ?? new Promise((resolve) => setImmediate(resolve)));
    }
  }

  begin(context: AuditContext): Promise<AuditEntry> {
    // After close() the chain is ended: nothing may be forwarded that could not be recorded.
    if (this.closed) return Promise.reject(new AuditUnavailableError());
    const record: PendingRecord = { row: this.rows.call(context, Date.now()) };
    const started = performance.now();
    const entry = this.entryFor(record, started);
    if (!this.available) {
      if (!this.failOpen) {
        this.stats.refusedUnaudited += 1;
        return Promise.reject(new AuditUnavailableError());
      }
      this.keepWhileUnavailable({ type: "record", record });
      this.stats.proceededUnaudited += 1;
      return Promise.resolve(entry);
    }
    return new Promise((resolve, reject) => {
      this.enqueue({ type: "record", record, waiter: { kind: "call", resolve: () => resolve(entry), reject } });
    });
  }

  refuse(context: AuditContext, outcome: AuditOutcome): Promise<void> {
    return this.complete(context, outcome, "refusal");
  }

  record(context: AuditContext, outcome: AuditOutcome): Promise<void> {
    return this.complete(context, outcome, "event");
  }

  /** A refusal or an event: one complete record. */
  private complete(context: AuditContext, outcome: AuditOutcome, kind: "refusal" | "event"): Promise<void> {
    if (this.closed) {
      this.log.warn({ method: context.method, subject: context.subject, status: outcome.status }, `${kind} after the audit log closed: not recorded`);
      return Promise.resolve();
    }
    const record: PendingRecord = { row: this.rows.refusal(context, outcome, Date.now(), kind) };
    if (!this.available) {
      this.keepWhileUnavailable({ type: "record", record });
      return Promise.resolve();
    }
    // Refusals and events wait for their commit (the client hears after the record exists) but
    // never fail: nothing was forwarded, and the record stays queued if the store is down.
    return new Promise((resolve) => this.enqueue({ type: "record", record, waiter: { kind: "refusal", resolve, reject: () => resolve() } }));
  }

  /** Commits what is queued (bounded by `timeoutMs`), ends the chain and stops the timers. The store stays open. */
  async close(timeoutMs = 5_000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeatTimer);
    clearInterval(this.rescanTimer);
    clearInterval(this.retryTimer);
    const deadline = Date.now() + timeoutMs;
    while ((this.queue.length > 0 || this.flushing) && Date.now() < deadline) {
      await (this.flushing ?? (this.available ? this.flush() : this.retry()));
      if (!this.available) await Bun.sleep(Math.min(this.options.retryMs, Math.max(0, deadline - Date.now())));
    }
    if (this.queue.length > 0) {
      this.stats.lost += this.queue.length;
      this.log.error({ lost: this.queue.length, reason: this.reason }, "audit records could not be written before shutdown and are lost");
      // Nobody may wait forever: calls still waiting for their record are refused.
      for (const item of this.queue) {
        if (item.waiter?.kind === "call") item.waiter.reject(new AuditUnavailableError());
        else item.waiter?.resolve();
      }
      this.queue = [];
    }
    try {
      await this.repo.append({ chainId: this.chainId, fromSeq: this.head.seq, head: this.head, records: [], outcomes: [], at: Date.now(), end: true });
    } catch (err) {
      // The next start marks this chain's unfinished calls once its heartbeat is stale.
      this.log.warn({ err: describeError(err) }, "could not mark the audit chain ended");
    }
  }

  private entryFor(record: PendingRecord, started: number): AuditEntry {
    let finished = false;
    return {
      finish: (outcome) => {
        if (finished) return;
        finished = true;
        if (this.closed) {
          // The chain is ended; the next start marks this call incomplete.
          this.log.warn({ requestId: record.row.requestId, status: outcome.status }, "outcome after the audit log closed: not recorded");
          return;
        }
        const item: QueuedItem = { type: "outcome", record, fields: this.rows.outcome(outcome, performance.now() - started, Date.now()) };
        if (this.available) this.enqueue(item);
        else this.keepWhileUnavailable(item);
      },
    };
  }

  private async openChain(): Promise<void> {
    const now = Date.now();
    await this.repo.createChain({
      chainId: this.chainId,
      ...this.identity,
      startedAt: now,
      heartbeatAt: now,
      endedAt: null,
      headSeq: 0,
      headHash: this.head.hash,
    });
  }

  private enqueue(item: QueuedItem): void {
    this.queue.push(item);
    // Group commit: a flush in progress takes this item in its next transaction; otherwise one
    // flush at the end of this turn of the event loop takes everything queued in the meantime.
    if (this.flushing || this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      void this.flush();
    });
  }

  /** Queues an item while the store is unavailable, within the memory bound. */
  private keepWhileUnavailable(item: QueuedItem): void {
    if (this.queue.length >= this.options.maxQueued) {
      this.stats.lost += 1;
      if (this.stats.lost === 1 || this.stats.lost % 1_000 === 0) {
        this.log.error({ lost: this.stats.lost, maxQueued: this.options.maxQueued }, "audit queue full while the store is unavailable: records are being lost");
      }
      return;
    }
    this.queue.push(item);
  }

  /**
   * Runs fn as the only writer of the chain (commits, retries and heartbeats never overlap: each
   * seals at the head the previous one left), then flushes whatever was queued meanwhile.
   */
  private exclusive(fn: () => Promise<void>): Promise<void> {
    if (this.flushing) return this.flushing;
    const run: Promise<void> = fn()
      .catch((err) => this.log.error({ err }, "unexpected audit writer failure"))
      .finally(() => {
        // Runs after `this.flushing = run` below, even when fn finished synchronously.
        if (this.flushing === run) this.flushing = undefined;
        if (this.available && this.queue.length > 0) void this.flush();
      });
    this.flushing = run;
    return run;
  }

  private flush(): Promise<void> {
    return this.exclusive(async () => {
      while (this.queue.length > 0 && this.available) await this.commit(this.queue.splice(0, this.options.maxBatch));
    });
  }

  /** One transaction; on failure the batch's items are settled or kept as the mode says. */
  private async commit(batch: QueuedItem[]): Promise<void> {
    const { append, orphaned } = sealBatch(this.chainId, this.head, batch, Date.now());
    this.dropOrphans(orphaned);
    const started = performance.now();
    try {
      await this.repo.append(append);
    } catch (err) {
      if (!(err instanceof AuditChainConflictError)) this.noteInDoubt(inDoubtAppend(append, batch, !this.failOpen));
      unsealBatch(batch, this.chainId, append.fromSeq);
      if (err instanceof AuditChainConflictError) return this.recoverFromConflict(batch, err);
      this.onCommitFailure(batch, err);
      return;
    }
    this.inDoubt = [];
    this.head = append.head;
    this.stats.commits += 1;
    this.stats.committed += batch.length - orphaned.length;
    this.stats.lastCommitMs = performance.now() - started;
    this.onCommit?.(batch.length - orphaned.length, this.stats.lastCommitMs / 1_000);
    for (const item of batch) item.waiter?.resolve();
  }

  private dropOrphans(orphaned: ChainItem[]): void {
    if (orphaned.length === 0) return;
    this.stats.lost += orphaned.length;
    this.log.warn(
      { outcomes: orphaned.length },
      "outcomes of calls recorded on this gateway's previous chain were dropped (those calls are marked incomplete)",
    );
  }

  private onCommitFailure(batch: QueuedItem[], err: unknown): void {
    this.markUnavailable(err);
    // Calls queued behind the failed batch are settled now too, rather than wait for a retry.
    const waiting = [...batch, ...this.queue];
    const kept: QueuedItem[] = [];
    for (const item of waiting) {
      const waiter = item.waiter;
      if (waiter?.kind === "call" && !this.failOpen) {
        this.stats.refusedUnaudited += 1;
        waiter.reject(new AuditUnavailableError());
        continue;
      }
      if (waiter?.kind === "call") this.stats.proceededUnaudited += 1;
      waiter?.resolve();
      kept.push({ ...item, waiter: undefined } as QueuedItem);
    }
    this.queue = [];
    for (const item of kept) this.keepWhileUnavailable(item);
  }

  private async recoverFromConflict(batch: QueuedItem[], err: AuditChainConflictError): Promise<void> {
    if (err.notPending.length > 0) {
      // Another gateway took these calls for dead and marked them incomplete; their outcome loses.
      const gone = new Set(err.notPending);
      const kept = batch.filter((item) => item.type !== "outcome" || !item.record.sealed || !gone.has(item.record.sealed.seq));
      this.stats.lost += batch.length - kept.length;
      this.log.warn({ calls: err.notPending.length }, "outcomes not recorded: another gateway had already marked these calls incomplete");
      this.queue.unshift(...kept);
      return;
    }
    if (await this.adoptInDoubt(batch)) return;
    // The chain moved without this process knowing, and not by the append in doubt: someone else
    // appended to or ended it (a takeover after a long outage, two gateways sharing an instance
    // name). Never write into it again; continue on a new chain.
    const lost = this.chainId;
    this.chainId = newChainId(this.identity.instance);
    this.head = { seq: 0, hash: genesisHash(this.chainId) };
    this.log.error(
      { lostChain: lost, chain: this.chainId },
      "this gateway's audit chain moved without it (a commit cut off by a database crash that was written after all, or another process with the same MCPGW_AUDIT_INSTANCE); continuing on a new chain",
    );
    try {
      await this.openChain();
    } catch (openErr) {
      this.onCommitFailure(batch, openErr);
      return;
    }
    this.queue.unshift(...batch);
    // The new chain is committed, so the store is back: during an outage this retry ends it (the
    // queue flushes now), rather than the next retry, one interval later.
    this.markAvailable();
  }

  /**
   * When the chain's stored head is exactly where the append in doubt would have left it, that append was written
   * after all (the crash came between its COMMIT and the answer): the chain goes on from there. Its items leave the
   * queue (written once, not twice), its records keep their positions, so outcomes queued for them still land on their
   * own records, and a call it refused (its caller heard "audit unavailable", nothing was forwarded) gets an outcome
   * that says so instead of staying pending on a live chain.
   */
  private async adoptInDoubt(batch: QueuedItem[]): Promise<boolean> {
    const candidates = this.inDoubt.filter((d) => d.append.chainId === this.chainId && d.append.fromSeq === this.head.seq);
    if (candidates.length === 0) return false;
    let stored: Awaited<ReturnType<AuditRepository["chain"]>>;
    try {
      stored = await this.repo.chain(this.chainId);
    } catch {
      return false;
    }
    const doubt = candidates.find((d) => stored?.endedAt === null && stored.headSeq === d.append.head.seq && stored.headHash === d.append.head.hash);
    if (!doubt) return false;
    this.inDoubt = [];
    this.head = doubt.append.head;
    for (const [record, sealed] of doubt.sealed) record.sealed = sealed;
    const written = (item: QueuedItem) => doubt.items.some((d) => d.type === item.type && d.record === item.record);
    this.queue = [...batch.filter((item) => !written(item)), ...this.queue.filter((item) => !written(item))];
    const at = Date.now();
    for (const record of doubt.refusedCalls) {
      const outcome: AuditOutcome = {
        status: "incomplete",
        errorMessage: "refused, not forwarded: the audit log became unavailable as this call's record was committed",
      };
      this.queue.push({ type: "outcome", record, fields: this.rows.outcome(outcome, 0, at) });
    }
    this.log.warn(
      { chain: this.chainId, head: this.head.seq },
      "an audit commit cut off by the database going away was written after all: the chain goes on from it",
    );
    this.markAvailable();
    return true;
  }

  private noteInDoubt(doubt: InDoubtAppend): void {
    // A retry of an unchanged queue seals the same head again: one entry is enough. Bounded for long outages.
    if (this.inDoubt.some((d) => d.append.head.hash === doubt.append.head.hash)) return;
    this.inDoubt.push(doubt);
    if (this.inDoubt.length > 64) this.inDoubt.shift();
  }

  private markUnavailable(err: unknown): void {
    this.reason = describeError(err);
    if (!this.available) return;
    this.available = false;
    if (this.failOpen) {
      this.log.error(
        { reason: this.reason },
        "AUDIT LOG UNAVAILABLE: calls proceed UNAUDITED until it returns (MCPGW_AUDIT_FAIL_OPEN=true); their records are kept in memory meanwhile",
      );
    } else {
      this.log.error(
        { reason: this.reason },
        "audit log unavailable: refusing calls until it returns (fail closed; MCPGW_AUDIT_FAIL_OPEN=true would let them through unaudited)",
      );
    }
    if (this.closed) return;
    this.retryTimer = setInterval(() => void this.retry(), this.options.retryMs);
    this.retryTimer.unref?.();
  }

  private markAvailable(): void {
    if (this.available) return;
    this.available = true;
    clearInterval(this.retryTimer);
    this.retryTimer = undefined;
    this.log.warn({ after: this.reason, queued: this.queue.length }, "audit log available again: calls flow");
    this.reason = undefined;
  }

  /**
   * While unavailable: tries the oldest queued items (or, with none, a heartbeat write). A batch
   * that fails while a bare heartbeat succeeds holds an item the database refuses: items are then
   * tried one at a time and one that fails alone is dropped, so a single bad record can never keep
   * the gateway refusing calls.
   */
  private retry(): Promise<void> {
    if (this.available) return this.flushing ?? Promise.resolve();
    return this.exclusive(async () => {
      const batch = this.queue.splice(0, this.options.maxBatch);
      const failure = await this.tryAppend(batch);
      if (failure === undefined) return this.markAvailable();
      if (failure instanceof AuditChainConflictError) return this.recoverFromConflict(batch, failure);
      this.queue.unshift(...batch);
      this.reason = describeError(failure);
      if (batch.length > 0 && (await this.tryAppend([])) === undefined) await this.isolate();
    });
  }

  /** Commits queued items one by one until one fails for a reason of its own (dropped) or the store fails. */
  private async isolate(): Promise<void> {
    while (this.queue.length > 0) {
      const item = this.queue.shift()!;
      const failure = await this.tryAppend([item]);
      if (failure === undefined) continue;
      if ((await this.tryAppend([])) !== undefined) {
        this.queue.unshift(item);
        this.reason = describeError(failure);
        return;
      }
      this.stats.lost += 1;
      const row = item.record.row;
      this.log.error(
        { err: describeError(failure), method: row.method, backend: row.backend, target: row.target, requestId: row.requestId },
        "an audit record the database refuses was dropped",
      );
    }
    this.markAvailable();
  }

  /** One append of `items` at the head; returns the error instead of throwing. */
  private async tryAppend(items: QueuedItem[]): Promise<unknown> {
    const { append, orphaned } = sealBatch(this.chainId, this.head, items, Date.now());
    try {
      await this.repo.append(append);
    } catch (err) {
      if (items.length > 0 && !(err instanceof AuditChainConflictError)) this.noteInDoubt(inDoubtAppend(append, items, false));
      unsealBatch(items, this.chainId, append.fromSeq);
      return err;
    }
    if (items.length > 0) this.inDoubt = [];
    this.dropOrphans(orphaned);
    this.head = append.head;
    if (items.length > 0) this.stats.commits += 1;
    this.stats.committed += items.length - orphaned.length;
    return undefined;
  }

  /** An idle gateway's proof of life; also notices an unwritable store before the next call does. */
  private async heartbeat(): Promise<void> {
    if (this.flushing || !this.available || this.closed) return;
    await this.exclusive(async () => {
      const failure = await this.tryAppend([]);
      if (failure instanceof AuditChainConflictError) await this.recoverFromConflict([], failure);
      else if (failure !== undefined) this.onCommitFailure([], failure);
    });
  }
}

interface InDoubtAppend {
  append: AuditAppend;
  items: QueuedItem[];
  /** The positions its records were given, kept past unsealBatch. */
  sealed: Map<PendingRecord, NonNullable<PendingRecord["sealed"]>>;
  /** Records of calls this failure refused (fail closed): never forwarded. */
  refusedCalls: PendingRecord[];
}

/** `refusesCalls`: the failure refuses the calls whose records the append holds (fail closed, first attempt). */
function inDoubtAppend(append: AuditAppend, items: QueuedItem[], refusesCalls: boolean): InDoubtAppend {
  const sealed = new Map<PendingRecord, NonNullable<PendingRecord["sealed"]>>();
  for (const item of items) if (item.type === "record" && item.record.sealed?.chainId === append.chainId) sealed.set(item.record, item.record.sealed);
  const refusedCalls = !refusesCalls ? [] : items.filter((item) => item.type === "record" && item.waiter?.kind === "call").map((item) => item.record);
  return { append, items: [...items], sealed, refusedCalls };
}
