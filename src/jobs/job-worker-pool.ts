import type { AuditEntry, AuditOutcome, AuditStatus, Auditor } from "../audit/auditor.ts";
import { describeError } from "../errors.ts";
import { GatewayErrorCode } from "../protocol/gateway-errors.ts";
import { continueTrace } from "../tracing/trace-propagation.ts";
import type { Logger } from "../log/logger.ts";
import type { ClaimDurability, JobOutcome, JobProgress, JobRecord } from "./job-record.ts";
import type { JobRepository } from "./job-repository.ts";
import { type JobRunner, jobErrorOf } from "./job-runner.ts";
import type { JobSettings } from "../config/job-settings.ts";

/** How often an idle pool looks for jobs another replica (or the CLI) queued; local submits wake it at once. */
const IDLE_POLL_MS = 250;
/** Progress is written at most this often per job (the last one always). */
const PROGRESS_WRITE_MS = 500;
const SWEEP_EXPIRED_MS = 60_000;
/** How long claiming pauses when the audit log cannot take a run's record. */
const AUDIT_RETRY_MS = 1_000;

type StopReason = "cancelled" | "shutdown" | "lost";

interface Running {
  job: JobRecord;
  controller: AbortController;
  done: Promise<void>;
}

export interface JobWorkerPoolOptions {
  repository: JobRepository;
  runner: JobRunner;
  auditor: Auditor;
  settings: Pick<JobSettings, "workers" | "leaseMs" | "maxAttempts">;
  logger: Logger;
  /** This gateway's name in leases (unique per process). */
  workerId: string;
  /**
   * "with-next-commit" when `auditor` commits each run's write-ahead record synchronously on the
   * job repository's own database before the backend is called, refusing the run otherwise (the
   * store auditor, failing closed): that commit makes the claim durable, so the claim need not
   * wait for the disk itself (JobRepository.claim). "now" (the default) otherwise.
   */
  claimDurability?: ClaimDurability;
}

/**
 * Runs queued jobs, at most `workers` at a time. Claims go through the database, so replicas
 * on one PostgreSQL share the queue and no job is claimed twice; each claim is a lease this
 * pool renews while the job runs. Renewal also brings cancels asked for on other replicas, and
 * finds jobs whose gateway died (their lease ran out): those are requeued when idempotent and
 * failed as interrupted otherwise (JobRepository.reclaimExpired).
 *
 * A worker is a slot for a backend call: it is free again once the call has ended, while the
 * job's outcome is still being stored (and its lease renewed until it is). On PostgreSQL each
 * job waits for three commits (claim, the run's audit record, the outcome); the outcome's no
 * longer holds the slot, so the next job's claim and record overlap it, and with the store
 * auditor failing closed the claim does not wait for the disk (claimDurability): a slot waits
 * for one flush per job, its record's. Each freed slot claims at once, while other slots' claims
 * are still in flight (claim()).
 */
export class JobWorkerPool {
  private readonly running = new Map<string, Running>();
  /** Jobs whose call has ended and whose outcome is being stored: their leases are renewed until it is. */
  private readonly storing = new Map<string, Promise<void>>();
  private stopped = false;
  private wakeUp: (() => void) | undefined;
  /** A wake that came while the loop was not sleeping (claiming, say): the next sleep returns at once. */
  private woken = false;
  private loop: Promise<void> | undefined;
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private lastSweep = 0;
  private lastReclaim = 0;
  /** Claims wait until then after the audit log refused a run's record (fail closed), instead of spinning. */
  private pausedUntil = 0;
  /** Slots that claims in flight may fill, and those claims. */
  private claimingSlots = 0;
  private readonly claims = new Set<Promise<void>>();

  constructor(private readonly options: JobWorkerPoolOptions) {}

  get activeCount(): number {
    return this.running.size;
  }

  start(): void {
    if (this.loop || this.options.settings.workers === 0) return;
    const renewEvery = Math.min(1_000, this.options.settings.leaseMs / 3);
    this.heartbeat = setInterval(() => void this.renew(), renewEvery);
    this.loop = this.run();
  }

  /** A job was queued here: look now rather than at the next poll. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /** Stops a job this gateway is running (a cancel); false when it does not run here. */
  cancelLocal(id: string): boolean {
    const running = this.running.get(id);
    running?.controller.abort("cancelled" satisfies StopReason);
    return running !== undefined;
  }

  /**
   * Graceful stop: no new claims; running jobs get up to `drainMs` to finish. Then they are
   * stopped: an idempotent one goes back to the queue, any other fails as interrupted.
   */
  async stop(drainMs: number): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.loop;
    // Jobs that claims in flight bring are started, and drained with the rest.
    await Promise.all(this.claims);
    const all = Promise.all([...this.running.values()].map((r) => r.done));
    // A timer that ends with the drain, so a process with no jobs left does not wait it out.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([all, new Promise<void>((resolve) => (timer = setTimeout(resolve, drainMs)))]);
    clearTimeout(timer);
    for (const running of this.running.values()) running.controller.abort("shutdown" satisfies StopReason);
    await all;
    await Promise.all(this.storing.values());
    clearInterval(this.heartbeat);
  }

  private async run(): Promise<void> {
    const { settings, repository, logger } = this.options;
    while (!this.stopped) {
      try {
        const now = Date.now();
        if (now - this.lastReclaim >= Math.min(1_000, settings.leaseMs / 3)) {
          this.lastReclaim = now;
          const { requeued, ended } = await repository.reclaimExpired(now, settings.maxAttempts);
          for (const job of requeued)
            logger.warn({ job: job.id, attempts: job.attempts }, "job interrupted by a gateway that stopped: queued again (idempotent)");
          for (const job of ended) logger.warn({ job: job.id, status: job.status, error: job.error?.message }, "job interrupted by a gateway that stopped");
        }
        if (now - this.lastSweep >= SWEEP_EXPIRED_MS) {
          this.lastSweep = now;
          const deleted = await repository.deleteExpired(now);
          if (deleted > 0) logger.debug({ deleted }, "deleted jobs past their TTL");
        }
        // Outcomes still being stored take no slot, unless they pile up (the store is slower than the calls);
        // nor do the slots that claims in flight will fill.
        const free = now < this.pausedUntil ? 0 : settings.workers - this.running.size - Math.max(0, this.storing.size - settings.workers) - this.claimingSlots;
        if (free > 0) this.claim(free, now);
        // Look again when something changes (a slot frees, a claim that filled its slots returns, a submit), else at the next poll.
        await this.sleep(IDLE_POLL_MS);
      } catch (err) {
        logger.error({ err: describeError(err) }, "job queue unavailable; retrying");
        await this.sleep(IDLE_POLL_MS * 4);
      }
    }
  }

  /**
   * Claims up to `max` jobs and starts them, without holding up the loop: a slot freed while
   * another slot's claim is in flight claims at once, so on PostgreSQL the claims' round trips
   * overlap instead of queueing one behind the other. A claim that found fewer jobs than it asked
   * for found the queue empty: the loop then waits for a wake or the next poll.
   */
  private claim(max: number, now: number): void {
    const { settings, repository, logger, workerId } = this.options;
    this.claimingSlots += max;
    let filled = false;
    const claiming: Promise<void> = repository
      .claim(workerId, max, now, now + settings.leaseMs, this.options.claimDurability)
      .then(
        (claimed) => {
          for (const job of claimed) this.start1(job);
          filled = claimed.length === max;
        },
        (err) => {
          logger.error({ err: describeError(err) }, "job queue unavailable; retrying");
          this.pausedUntil = Date.now() + IDLE_POLL_MS * 4;
        },
      )
      .finally(() => {
        this.claimingSlots -= max;
        this.claims.delete(claiming);
        if (filled) this.wake();
      });
    this.claims.add(claiming);
  }

  private sleep(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.woken = false;
        if (self.wakeUp === done) self.wakeUp = undefined;
        resolve();
      }
      this.wakeUp = done;
    });
  }

  private start1(job: JobRecord): void {
    const controller = new AbortController();
    const running: Running = { job, controller, done: Promise.resolve() };
    this.running.set(job.id, running);
    // The run continues the trace of the request that submitted the job: its log line and the
    // traceparent HTTP backends get carry the submitter's trace id.
    running.done = continueTrace(job.traceparent, job.tracestate, async () => {
      const store = await this.execute(job, controller);
      if (store) {
        const stored = store().finally(() => {
          this.storing.delete(job.id);
          this.wake();
        });
        this.storing.set(job.id, stored);
      }
    }).finally(() => {
      this.running.delete(job.id);
      this.wake();
    });
  }

  /** Runs the job; returns how to store its outcome (undefined when there is nothing to store). */
  private async execute(job: JobRecord, controller: AbortController): Promise<(() => Promise<void>) | undefined> {
    const { repository, runner, auditor, logger, workerId } = this.options;
    const log = logger.child({ job: job.id, backend: job.backend, tool: job.tool });
    let entry: AuditEntry;
    try {
      // Write-ahead, like a direct call: the run is on record before the backend sees it.
      entry = await auditor.begin({
        requestId: job.id,
        subject: job.owner,
        roles: job.roles,
        backend: job.backend,
        target: job.tool,
        method: "jobs/run",
        arguments: job.arguments,
      });
    } catch (err) {
      log.error({ err: describeError(err) }, "audit unavailable: job returned to the queue");
      this.pausedUntil = Date.now() + AUDIT_RETRY_MS;
      await repository.release(job.id, workerId, Date.now()).catch(() => undefined);
      return;
    }
    const progress = new ProgressWriter((p) => repository.setProgress(job.id, workerId, p, Date.now()));
    let outcome: JobOutcome;
    let credentialId: string | undefined;
    const named = <T extends object>(auditOutcome: T) => (credentialId === undefined ? auditOutcome : { ...auditOutcome, credentialId });
    try {
      outcome = await runner.run(job, controller.signal, {
        onCredential: (id) => (credentialId = id),
        onProgress: (p) => progress.update(p),
        onBackendTask: (taskId) => void repository.setBackendTask(job.id, workerId, taskId, Date.now()).catch(() => undefined),
      });
    } catch (err) {
      const reason = controller.signal.aborted ? (controller.signal.reason as StopReason) : undefined;
      if (reason === "shutdown" && job.idempotent) {
        await progress.flush();
        await repository.release(job.id, workerId, Date.now()).catch(() => undefined);
        entry.finish(named({ status: "cancelled", errorMessage: "gateway shutting down: the job was returned to the queue (idempotent)" } as const));
        return;
      }
      outcome =
        reason === "cancelled"
          ? { status: "cancelled", error: { message: "cancelled at the caller's request; the backend was told (notifications/cancelled)" } }
          : reason === "shutdown"
            ? {
                status: "failed",
                error: {
                  message: `interrupted: the gateway shut down before the call finished; tool "${job.tool}" is not marked idempotent, so it was not retried`,
                },
              }
            : { status: "failed", error: jobErrorOf(err) };
    }
    const ended = outcome;
    return async () => {
      await progress.flush();
      const kept = await repository.finish(job.id, workerId, ended, Date.now()).catch((err) => {
        log.error({ err: describeError(err) }, "job outcome not stored");
        return false;
      });
      if (!kept) log.warn({ status: ended.status }, "job outcome not kept: this gateway no longer held the job");
      entry.finish(named(auditOutcome(ended)));
    };
  }

  /** Renews this pool's leases; stops jobs that were cancelled elsewhere or taken over. */
  private async renew(): Promise<void> {
    if (this.running.size === 0 && this.storing.size === 0) return;
    const { repository, settings, workerId, logger } = this.options;
    try {
      const { lost, cancelRequested } = await repository.renew(workerId, [...this.running.keys(), ...this.storing.keys()], Date.now() + settings.leaseMs);
      for (const id of cancelRequested) this.running.get(id)?.controller.abort("cancelled" satisfies StopReason);
      for (const id of lost) {
        logger.warn({ job: id }, "job lease lost (another gateway took the job over): stopping it here");
        this.running.get(id)?.controller.abort("lost" satisfies StopReason);
      }
    } catch (err) {
      logger.warn({ err: describeError(err) }, "job leases not renewed; retrying");
    }
  }
}

const AUDIT_STATUS = { completed: "ok", failed: "error", cancelled: "cancelled" } as const satisfies Record<JobOutcome["status"], AuditStatus>;

function auditOutcome(outcome: JobOutcome): AuditOutcome {
  const status = outcome.status === "failed" && outcome.error.code === GatewayErrorCode.BackendTimeout ? "timeout" : AUDIT_STATUS[outcome.status];
  if (outcome.status === "completed") return { status };
  return { status, ...(outcome.error.code !== undefined && { errorCode: outcome.error.code }), errorMessage: outcome.error.message };
}

/** Writes progress at most every PROGRESS_WRITE_MS, and the last value on flush. */
class ProgressWriter {
  private pending: JobProgress | undefined;
  private lastWrite = 0;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly write: (progress: JobProgress) => Promise<void>) {}

  private timer: ReturnType<typeof setTimeout> | undefined;

  update(progress: JobProgress): void {
    this.pending = progress;
    const wait = this.lastWrite + PROGRESS_WRITE_MS - Date.now();
    if (wait <= 0) this.drain();
    else this.timer ??= setTimeout(() => this.drain(), wait);
  }

  async flush(): Promise<void> {
    if (this.pending) this.drain();
    await this.writing;
  }

  private drain(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const progress = this.pending;
    if (!progress) return;
    this.pending = undefined;
    this.lastWrite = Date.now();
    this.writing = this.writing.then(() => this.write(progress)).catch(() => undefined);
  }
}
