import type { Change, GatewayState } from "./gateway-state.ts";

/** Roles, grants, backends and limits read and changed together, for `mcpgw apply` and `mcpgw export`. */
export interface DeclarativeRepository {
  /** Everything apply manages, read in one transaction (one consistent view on both drivers). */
  snapshot(): Promise<GatewayState>;
  /**
   * Reads the state and applies the changes `plan` computes from it, all in one transaction: all
   * of them or none. Concurrent writers wait (or are waited for), so the plan is made from the
   * state it is applied to. Each touched topic's change version moves, so running gateways reload.
   * Returns the changes applied. Keep `plan` quick: the transaction holds its locks meanwhile.
   */
  apply(plan: (current: GatewayState) => Change[] | Promise<Change[]>): Promise<Change[]>;
}
