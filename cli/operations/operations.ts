import type { ProbeResult } from "../../src/backends/backend-probe.ts";
import type { BackendPinState } from "../../src/operator-calls/backend-pin-state.ts";
import type { BackendFlags, BackendView } from "../../src/operator-calls/backend-service.ts";
import type { LimitSetInput, LimitUpdateInput, LimitUsageView, LimitView } from "../../src/operator-calls/limit-service.ts";
import type { RoleRulesInput, RoleUpdateInput, RoleView } from "../../src/operator-calls/role-service.ts";
import type { TokenIssueInput, TokenView } from "../../src/operator-calls/token-service.ts";
import type { PinModes } from "../../src/pinning/pin-record.ts";

/**
 * The seam between the backend, role, token and limit commands and where their changes are made:
 * the database (store-operations.ts, the services over an open store) or a running gateway's
 * admin API (remote/remote-operations.ts, `--server URL`). Both answer with the views the admin
 * API answers with, and the commands print only those, so their output is the same either way.
 * A destructive operation is given `confirm`: it says what goes with the change, and throws to
 * stop it, between looking and changing.
 */

export interface Operations {
  roles: RoleOperations;
  tokens: TokenOperations;
  limits: LimitOperations;
  backends: BackendOperations;
}

/** A role as changed, with the warnings about its patterns (each names a backend that is not registered). */
export interface RoleChanged {
  role: RoleView;
  warnings: string[];
}

export interface RoleOperations {
  list(): Promise<RoleView[]>;
  show(name: string): Promise<RoleView>;
  create(name: string, input: RoleRulesInput): Promise<RoleChanged>;
  update(name: string, input: RoleUpdateInput): Promise<RoleChanged>;
  /** Deletes a role with its rules and grants after `confirm` heard what else goes (grants, tokens left carrying it). */
  delete(name: string, confirm: (role: RoleView, consequences: string[]) => Promise<void>): Promise<RoleView>;
  /** The role's grants after the change. */
  grant(role: string, subject: string): Promise<string[]>;
  revoke(role: string, subject: string): Promise<string[]>;
}

/** A new token, its claims, and how the gateway signs them (as `token issue --json` prints it). */
export interface IssuedTokenView extends TokenView {
  token: string;
  kid: string;
  issuer: string;
  audience: string;
}

export interface TokenOperations {
  issue(input: TokenIssueInput): Promise<IssuedTokenView>;
  /** Newest first. */
  list(): Promise<TokenView[]>;
  revoke(jti: string): Promise<"revoked" | "already-revoked">;
  /** Revokes the subject's live tokens after `confirm` saw them (not called when there is none); the jtis revoked. */
  revokeAllFor(subject: string, confirm: (live: TokenView[]) => Promise<void>): Promise<string[]>;
}

export interface LimitOperations {
  set(input: LimitSetInput): Promise<{ limit: LimitView; replaced: LimitView[] }>;
  update(id: string, input: LimitUpdateInput): Promise<LimitView>;
  list(): Promise<LimitView[]>;
  /** Every rule's buckets as the shared counters hold them now. */
  usage(): Promise<LimitUsageView[]>;
  remove(id: string): Promise<LimitView>;
}

/** What testing a backend found, without the definitions. */
export type ProbeView = Omit<ProbeResult, "definitions">;

/** A backend with its pinning state, as list and show print it. */
export type BackendWithPins = BackendView & { pins: BackendPinState };

export interface BackendAddedView {
  backend: BackendView;
  /** The pinning modes, when the flags set any. */
  pinning?: PinModes;
  /** Absent when not tested (--no-test, or per-caller credentials). */
  tested?: ProbeView;
}

export interface BackendUpdatedView extends BackendAddedView {
  /** Settings that changed, named as their flags: none when only pinning modes were given or nothing differed. */
  changed: string[];
  dropped: string[];
}

export interface BackendOperations {
  add(name: string, flags: BackendFlags): Promise<BackendAddedView>;
  /** `onPinPolicy` hears the pinning modes as soon as they are set (before a test that may fail). */
  update(name: string, flags: BackendFlags & { unset: string[] }, onPinPolicy: (modes: PinModes | undefined) => void): Promise<BackendUpdatedView>;
  list(): Promise<BackendWithPins[]>;
  show(name: string): Promise<BackendWithPins>;
  /** Removes a backend after `confirm` heard which role and limit patterns name it; those patterns. */
  remove(name: string, confirm: (unmatched: string[]) => Promise<void>): Promise<string[]>;
  test(name: string): Promise<ProbeView>;
}
