import type { Logger } from "../log/logger.ts";
import type { Store } from "../store/store.ts";
import { describeError } from "../errors.ts";
import type { BackendSpec } from "./backend-spec.ts";

const POLL_MS = 500;

/**
 * The registered backends as a running gateway sees them: loaded from the store, reloaded when
 * the store's "backends" version moves (a CLI `backend add/remove`), checked every 500 ms so
 * changes apply within a second without a restart.
 */
export class BackendRegistry {
  private specs = new Map<string, BackendSpec>();
  private version = -1;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly listeners = new Set<(changed: BackendSpec[], removed: string[]) => void>();

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh().catch((err) => this.logger.warn({ err: describeError(err) }, "cannot reload backends")), POLL_MS);
    this.timer.unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  get(name: string): BackendSpec | undefined {
    return this.specs.get(name);
  }

  /** All backends, by name. */
  list(): BackendSpec[] {
    return [...this.specs.values()];
  }

  /** Called after a reload with the backends that changed or appeared, and the names removed. */
  onChange(listener: (changed: BackendSpec[], removed: string[]) => void): void {
    this.listeners.add(listener);
  }

  /** Reloads when the store says backends changed; cheap (one small query) when nothing did. */
  async refresh(): Promise<void> {
    const version = (await this.store.changes.versions()).backends;
    if (version === this.version) return;
    const next = new Map((await this.store.backends.list()).map((spec) => [spec.name, spec]));
    const changed = [...next.values()].filter((spec) => this.specs.get(spec.name)?.updatedAt !== spec.updatedAt || !this.specs.has(spec.name));
    const removed = [...this.specs.keys()].filter((name) => !next.has(name));
    this.specs = next;
    this.version = version;
    if (changed.length + removed.length > 0) {
      this.logger.info({ backends: [...next.keys()], changed: changed.map((s) => s.name), removed }, "backends loaded");
      for (const listener of this.listeners) listener(changed, removed);
    }
  }
}
