import type { Logger } from "../log/logger.ts";
import type { ChangeSource } from "../changes/change-topics.ts";
import type { BackendRepository } from "./backend-repository.ts";
import type { BackendSpec } from "./backend-spec.ts";

/**
 * The registered backends as a running gateway sees them: loaded from the store at start and
 * again whenever the "backends" change topic moves (a CLI `backend add/remove`).
 */
export class BackendRegistry {
  private specs = new Map<string, BackendSpec>();
  private readonly listeners = new Set<(changed: BackendSpec[], removed: string[]) => void>();

  constructor(
    private readonly store: { readonly backends: BackendRepository },
    private readonly logger: Logger,
    watcher: ChangeSource,
  ) {
    watcher.on("backends", () => this.reload());
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

  private async reload(): Promise<void> {
    const next = new Map((await this.store.backends.list()).map((spec) => [spec.name, spec]));
    const changed = [...next.values()].filter((spec) => this.specs.get(spec.name)?.updatedAt !== spec.updatedAt);
    const removed = [...this.specs.keys()].filter((name) => !next.has(name));
    this.specs = next;
    if (changed.length + removed.length > 0) {
      this.logger.info({ backends: [...next.keys()], changed: changed.map((s) => s.name), removed }, "backends loaded");
      for (const listener of this.listeners) listener(changed, removed);
    }
  }
}

/** The credential mode calls to a registered backend use (backend --auth; "static" without one), for the audit; undefined for an unknown backend. */
export function credentialMode(registry: BackendRegistry, name: string): string | undefined {
  const spec = registry.get(name);
  return spec && (spec.auth?.mode ?? "static");
}
