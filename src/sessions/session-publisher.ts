import { describeError } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import type { SessionSnapshotRepository } from "./session-snapshot-repository.ts";
import type { GatewayInstance, SessionView } from "./session-view.ts";

/** Snapshots of gateways silent for this long are removed at a start (crashed gateways leave theirs behind). */
const FORGET_AFTER_MS = 24 * 3_600_000;

export interface SessionPublisherOptions {
  repository: SessionSnapshotRepository;
  instance: GatewayInstance;
  /** This gateway's sessions, as they are now. */
  sessions: () => SessionView[];
  intervalMs: number;
  logger: Logger;
}

/**
 * Publishes this gateway's sessions to the database, where `mcpgw sessions list` reads them (the
 * CLI works from the database, not from a running gateway). Every interval the snapshot is
 * rewritten when it changed, or confirmed with a one-column update when it did not, so that a
 * reader can tell a live gateway from a dead one (3 intervals without either). A clean stop
 * deletes the row. A failed write is retried at the next interval; sessions never wait on it.
 */
export class SessionPublisher {
  private timer: ReturnType<typeof setInterval> | undefined;
  private running: Promise<void> | undefined;
  /** The JSON last written, to tell whether anything changed. */
  private written: string | undefined;
  private failing = false;
  private starting: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: SessionPublisherOptions) {}

  /**
   * Removes long-dead gateways' snapshots, publishes once, then every interval. Never rejects,
   * so the gateway need not wait for it (start-up time): failures are logged and retried.
   */
  start(): Promise<void> {
    this.starting ??= (async () => {
      await this.options.repository
        .removePublishedBefore(Date.now() - FORGET_AFTER_MS)
        .catch((err) => this.options.logger.warn({ err: describeError(err) }, "old session snapshots not removed"));
      if (this.stopped) return;
      await this.publish();
      if (this.stopped) return;
      this.timer = setInterval(() => void this.publish(), this.options.intervalMs);
      this.timer.unref?.();
    })();
    return this.starting;
  }

  /** Writes the snapshot if it changed, else confirms it; one write at a time (a slow database skips ticks). */
  publish(): Promise<void> {
    this.running ??= this.write().finally(() => (this.running = undefined));
    return this.running;
  }

  /** Stops publishing and deletes this gateway's snapshot. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.starting;
    clearInterval(this.timer);
    await this.running;
    await this.options.repository
      .remove(this.options.instance.instance)
      .catch((err) => this.options.logger.warn({ err: describeError(err) }, "session snapshot not removed at shutdown"));
  }

  private async write(): Promise<void> {
    const { repository, instance, intervalMs } = this.options;
    const sessions = this.options.sessions();
    const json = JSON.stringify(sessions);
    const now = Date.now();
    try {
      if (json !== this.written || !(await repository.touch(instance.instance, now))) {
        await repository.put({ ...instance, publishedAt: now, intervalMs, sessions });
        this.written = json;
      }
      if (this.failing) this.options.logger.info("session snapshot published again");
      this.failing = false;
    } catch (err) {
      // Logged once per streak of failures: the database being down is reported elsewhere too.
      if (!this.failing)
        this.options.logger.warn(
          { err: describeError(err) },
          "session snapshot not published (mcpgw sessions list will show this gateway as stale); retrying every interval",
        );
      this.failing = true;
    }
  }
}
