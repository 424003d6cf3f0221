import { describeError } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import type { ChangeSource, ChangeTopic } from "../changes/change-topics.ts";
import type { Store } from "./store.ts";

const POLL_MS = 500;

/**
 * Tells running gateway parts when the CLI (or another replica) changed something: one cheap
 * query of the change counter every 500 ms, and each topic's listeners run when its version
 * moves — so CLI changes apply within a second without a restart, on SQLite and Postgres alike.
 */
export class ChangeWatcher implements ChangeSource {
  private readonly listeners = new Map<ChangeTopic, (() => Promise<void>)[]>();
  private versions: Partial<Record<ChangeTopic, number>> = {};
  private timer: ReturnType<typeof setInterval> | undefined;
  private polling: Promise<void> | undefined;

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
  ) {}

  /** Registers a reload; it runs once at start() and again whenever the topic's version moves. */
  on(topic: ChangeTopic, reload: () => Promise<void>): void {
    this.listeners.set(topic, [...(this.listeners.get(topic) ?? []), reload]);
  }

  /** Runs every reload once (failures propagate: a gateway must not start without its config), then polls. */
  async start(): Promise<void> {
    this.versions = await this.store.changes.versions();
    for (const reloads of this.listeners.values()) for (const reload of reloads) await reload();
    this.timer = setInterval(() => void this.poll(), POLL_MS);
    this.timer.unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Checks the versions now (tests and the poll timer); overlapping calls share one check. */
  poll(): Promise<void> {
    this.polling ??= this.check().finally(() => (this.polling = undefined));
    return this.polling;
  }

  private async check(): Promise<void> {
    try {
      const now = await this.store.changes.versions();
      for (const [topic, reloads] of this.listeners) {
        if (now[topic] === this.versions[topic]) continue;
        for (const reload of reloads) await reload();
        this.versions[topic] = now[topic];
      }
    } catch (err) {
      // The store may be down for a moment: keep the last good configuration and try again.
      this.logger.warn({ err: describeError(err) }, "cannot check for configuration changes");
    }
  }
}
