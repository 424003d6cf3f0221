import type { Logger } from "../log/logger.ts";
import type { ChangeSource } from "../changes/change-topics.ts";
import { Policy } from "./policy.ts";
import type { RoleRepository } from "./role-repository.ts";

/** The policy in force: compiled from the store at start and recompiled when roles or grants change. */
export class PolicyEngine {
  private policy = new Policy({ roles: [], bindings: [] });

  constructor(
    private readonly store: { readonly roles: RoleRepository },
    private readonly logger: Logger,
    watcher: ChangeSource,
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
