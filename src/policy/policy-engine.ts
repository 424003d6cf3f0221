import type { Logger } from "../log/logger.ts";
import type { ChangeWatcher } from "../store/change-watcher.ts";
import type { Store } from "../store/store.ts";
import { Policy } from "./policy.ts";

/** The policy in force: compiled from the store at start and recompiled when roles or grants change. */
export class PolicyEngine {
  private policy = new Policy({ roles: [], bindings: [] });

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
    watcher: ChangeWatcher,
  ) {
    watcher.on("policy", () => this.reload());
  }

  /** The compiled policy; swapped whole on change, so a call sees one consistent version. */
  get current(): Policy {
    return this.policy;
  }

  private async reload(): Promise<void> {
    const snapshot = await this.store.roles.snapshot();
    this.policy = new Policy(snapshot);
    this.logger.info({ roles: snapshot.roles.length, grants: snapshot.bindings.length }, "policy compiled");
  }
}
