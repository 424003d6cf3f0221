/** What a backend lists and the gateway pins: tools, prompts and resource templates. */
export const PIN_KINDS = ["tool", "prompt", "resourceTemplate"] as const;
export type PinKind = (typeof PIN_KINDS)[number];

/**
 * A pin's state. `pinned`: the backend lists exactly the pinned definition. `changed`: it lists
 * another one. `added`: a definition with no pin (new on a pinned backend, or any on an explicit one
 * before `mcpgw backend pin`). `removed`: pinned, and gone from the backend's last complete listing.
 */
export type PinStatus = "pinned" | "changed" | "added" | "removed";

/** tofu: trust on first use (the first complete listing is pinned); explicit: only `mcpgw backend pin` pins. */
export type PinMode = "tofu" | "explicit";
/** What a drifted definition gets: hidden and its calls refused, served and flagged, or nothing. */
export type DriftMode = "block" | "warn" | "off";
/** Definitions with suspicious-text findings: served flagged, or blocked until a person approves them. */
export type SuspiciousMode = "flag" | "block";

export const PIN_MODES = ["tofu", "explicit"] as const satisfies readonly PinMode[];
export const DRIFT_MODES = ["block", "warn", "off"] as const satisfies readonly DriftMode[];
export const SUSPICIOUS_MODES = ["flag", "block"] as const satisfies readonly SuspiciousMode[];

export interface PinPolicy {
  backend: string;
  pinMode: PinMode;
  driftMode: DriftMode;
  suspicious: SuspiciousMode;
  /**
   * The kinds pinned so far (baselineKey): a kind without a baseline is pinned whole by its first
   * complete listing (tofu). Backends list more to clients with some capabilities (sampling…): each
   * such scope gets its own baseline.
   */
  baselines: string[];
  updatedAt: number;
}

/** The modes an operator sets on a backend (`backend add|update --pin-mode --drift-mode --suspicious`, a document's `pinning:`). */
export type PinModes = Pick<PinPolicy, "pinMode" | "driftMode" | "suspicious">;

/** The client capabilities a backend may list more for: the scope of a listing. */
export function pinScope(capabilities: Record<string, unknown> | undefined): string {
  if (!capabilities) return "";
  return ["elicitation", "roots", "sampling"].filter((name) => capabilities[name] !== undefined).join(",");
}

/** The baseline entry of a kind in a scope. */
export function baselineKey(kind: PinKind, scope: string): string {
  return scope === "" ? kind : `${kind}:${scope}`;
}

/** A backend with no policy row (added after pinning existed): trust on first use, block drift. */
export function defaultPinPolicy(backend: string): PinPolicy {
  return { backend, pinMode: "tofu", driftMode: "block", suspicious: "flag", baselines: [], updatedAt: 0 };
}

/** One suspicious-text finding (suspicious-text.ts). */
export interface Finding {
  /** What kind of text: hidden Unicode, an instruction addressed to the model, another tool, secrets. */
  kind: "hidden-unicode" | "model-instruction" | "other-tool" | "secrets";
  /** Where: "description", "title", or a JSON path into a schema ("inputSchema.properties.path.description"). */
  where: string;
  /** What was found, printable (hidden characters as U+XXXX). */
  detail: string;
}

/** A definition as listed, reduced to what is pinned, and its hash. */
export interface ObservedDefinition {
  name: string;
  hash: string;
  definition: Record<string, unknown>;
  findings: Finding[];
}

export interface PinRecord {
  backend: string;
  kind: PinKind;
  name: string;
  /** The capability scope of the listing that first showed it ("" for clients without sampling, elicitation, roots). */
  scope: string;
  status: PinStatus;
  pinnedHash?: string;
  pinnedDefinition?: Record<string, unknown>;
  pinnedAt?: number;
  /** Who pinned or approved it; absent when trusted on first use. */
  approvedBy?: string;
  observedHash?: string;
  observedDefinition?: Record<string, unknown>;
  observedAt?: number;
  findings: Finding[];
}

/** A change of a pin's status that one observation made (each is made once, by one replica, and audited once). */
export interface PinTransition {
  backend: string;
  kind: PinKind;
  name: string;
  from: PinStatus | "none";
  to: PinStatus;
  hash?: string;
  findings: Finding[];
}

/** Tool-definition pins, shared by every replica through the store. Every write that changes a pin moves the "pins" version. */
export interface PinRepository {
  /** Every backend's policy row (backends without one use defaultPinPolicy). */
  policies(): Promise<PinPolicy[]>;
  /** A backend's policy (the default when it has no row); NotFoundError when there is no such backend. */
  policy(backend: string): Promise<PinPolicy>;
  /** Sets a backend's modes (its baselines stay); NotFoundError when there is no such backend. */
  setPolicy(backend: string, modes: Partial<Pick<PinPolicy, "pinMode" | "driftMode" | "suspicious">>, at: number): Promise<PinPolicy>;
  /** Pin records, of one backend or all. */
  list(backend?: string): Promise<PinRecord[]>;
  /**
   * Records what a backend listed for a kind, to a client of capability scope `scope` (pinScope).
   * `complete`: the whole list (every page), so pins of that scope it lacks are removed. With tofu and
   * no baseline for the kind and scope, a complete listing pins whatever has no pin yet.
   * Returns the status changes this call made (none when another replica recorded them first).
   */
  observe(backend: string, kind: PinKind, listed: ObservedDefinition[], complete: boolean, at: number, scope?: string): Promise<PinTransition[]>;
  /** Pins exactly these definitions of a kind (explicit pinning): others of the kind are dropped. */
  pin(backend: string, kind: PinKind, listed: ObservedDefinition[], by: string, at: number): Promise<void>;
  /**
   * Accepts what was observed for drifted pins (one name, or all of the backend): changed and added
   * become pinned to the observed definition, removed ones are dropped. Returns the records as they
   * were before approval (for the audit's diff).
   */
  approve(backend: string, by: string, at: number, name?: string): Promise<PinRecord[]>;
}
