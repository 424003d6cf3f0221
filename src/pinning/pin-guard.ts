import type { McpError, Request, Result } from "@modelcontextprotocol/sdk/types.js";
import type { DefinitionGuard, GuardedConnection } from "./definition-guard.ts";
import { describeError } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import { changedFields } from "./definition-diff.ts";
import { LISTS, describeDefinition, kindOfList } from "./definition-hash.ts";
import {
  type ObservedDefinition,
  type PinKind,
  baselineKey,
  type PinPolicy,
  type PinRecord,
  type PinRepository,
  type PinStatus,
  type PinTransition,
  defaultPinPolicy,
} from "./pin-record.ts";
import { type HoldReason, definitionNotApproved } from "./pin-refusal.ts";
import { listDefinitions, servedKinds } from "./list-definitions.ts";
import { matchesUriTemplate } from "./uri-template-match.ts";

/** The _meta key a flagged (warn mode) definition carries in lists. */
export const PIN_FLAG = "io.mcpgw/pin";
/** A backend is listed on its own at most this often on connects (many sessions opening connections at once). */
const CHECK_SPACING_MS = 1_000;
/** A backend's set of connections is pruned of closed ones when it reaches this size (sessions come and go between re-checks). */
const PRUNE_AT = 16;

interface BackendPins {
  policy: PinPolicy;
  /** baselineKey entries. */
  baselines: ReadonlySet<string>;
  /** By kind and name (key()). */
  records: Map<string, PinRecord>;
}

/** What this replica last saw a backend list for one name; newer than the store's record until it is written. */
interface Seen {
  raw: string;
  observed: ObservedDefinition;
  at: number;
}

export interface PinGuardDeps {
  repository: PinRepository;
  logger: Logger;
  /** Told the status changes this replica recorded (each made once across replicas): audit, logs. */
  onTransitions(transitions: PinTransition[], policy: PinPolicy): void;
  /** Told when what a backend's clients may see changed (an approval, a drift): clients are sent list_changed. */
  onVisibleChange?(backend: string, kinds: PinKind[]): void;
  /** How often connected backends are listed again (0: never). */
  recheckMs: number;
}

const key = (kind: PinKind, name: string) => `${kind}\u0000${name}`;
const TEMPLATE_KEY_PREFIX = key("resourceTemplate", "");

/**
 * Tool-definition pinning as a running gateway applies it (docs/security.md). Every list answer
 * that passes a backend connection is compared with the pins: in block mode a drifted definition
 * is left out and calls to it refused (-32018), in warn mode it is served with `_meta["io.mcpgw/pin"]`.
 * What a replica sees is recorded in the store, which decides once across replicas what changed
 * (audited once); approvals arrive through the "pins" change topic. Hashes are cached per listed
 * item by its JSON text, so a listing that did not change costs a stringify and map lookups.
 */
export class PinGuard implements DefinitionGuard {
  private states = new Map<string, BackendPins>();
  private readonly seen = new Map<string, Map<string, Seen>>();
  private readonly writes = new Map<string, Promise<unknown>>();
  private readonly checks = new Map<string, Promise<void>>();
  private readonly lastCheck = new Map<string, number>();
  /** Connections that opened, per backend (closed ones are pruned): the re-check lists through an open one per scope. */
  private readonly connections = new Map<string, Set<GuardedConnection>>();
  /** Backends whose own list_changed is being checked: what that check records was announced by the backend. */
  private readonly announcedByBackend = new Set<string>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private loaded = false;

  constructor(private readonly deps: PinGuardDeps) {}

  /**
   * Loads every backend's policy and pins from the store (at start and when the "pins" topic moves).
   * `announce`: tell clients when what they may see changed (an approval, another replica's
   * recording); not after this replica's own recording, which announces what it found itself (record()).
   */
  async reload(announce = true): Promise<void> {
    const [policies, records] = await Promise.all([this.deps.repository.policies(), this.deps.repository.list()]);
    const next = new Map<string, BackendPins>();
    for (const policy of policies) next.set(policy.backend, { policy, baselines: new Set(policy.baselines), records: new Map() });
    for (const record of records) {
      let state = next.get(record.backend);
      if (!state) {
        state = { policy: defaultPinPolicy(record.backend), baselines: new Set(), records: new Map() };
        next.set(record.backend, state);
      }
      state.records.set(key(record.kind, record.name), record);
    }
    const previous = this.states;
    this.states = next;
    if (!this.loaded || !announce) {
      this.loaded = true;
      return;
    }
    for (const backend of new Set([...previous.keys(), ...next.keys()])) {
      const kinds = changedKinds(previous.get(backend), next.get(backend));
      if (kinds.length > 0) this.deps.onVisibleChange?.(backend, kinds);
    }
  }

  /** Starts the periodic re-check of connected backends. */
  start(): void {
    if (this.deps.recheckMs <= 0 || this.timer) return;
    this.timer = setInterval(() => this.recheck(), this.deps.recheckMs);
    this.timer.unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Resolves once the checks and writes under way have ended (before the store closes). */
  async settled(): Promise<void> {
    while (this.checks.size + this.writes.size > 0) await Promise.allSettled([...this.checks.values(), ...this.writes.values()]);
  }

  /** Drifted definitions now, for the mcpgw_tool_drift metric. */
  drifted(): { backend: string; kind: PinKind; name: string }[] {
    const out: { backend: string; kind: PinKind; name: string }[] = [];
    for (const [backend, state] of this.states) {
      if (state.policy.driftMode === "off") continue;
      for (const record of state.records.values()) if (record.status !== "pinned") out.push({ backend, kind: record.kind, name: record.name });
    }
    return out;
  }

  /**
   * A definition's pin as the store last said (pinned, changed, added, removed), for the admin API's
   * backend status; null when the backend does not check drift or nothing is recorded for the name yet.
   */
  pinStatus(backend: string, kind: PinKind, name: string): PinStatus | null {
    const state = this.states.get(backend);
    if (!state || state.policy.driftMode === "off") return null;
    return state.records.get(key(kind, name))?.status ?? null;
  }

  pending(backend: string): Promise<void> | undefined {
    return this.checks.get(backend);
  }

  refusal(backend: string, request: Request): McpError | undefined {
    const state = this.states.get(backend);
    // Nothing recorded yet (a new backend before its first listing) or no checks: nothing to hold back.
    if (!state || state.policy.driftMode === "off") return undefined;
    if (request.method === "resources/read") return this.readRefusal(backend, state, (request.params as { uri?: unknown } | undefined)?.uri);
    const kind = request.method === "tools/call" ? "tool" : request.method === "prompts/get" ? "prompt" : undefined;
    if (kind === undefined) return undefined;
    const name = String((request.params as { name?: unknown } | undefined)?.name);
    const seen = this.seen.get(backend)?.get(key(kind, name));
    const record = state.records.get(key(kind, name));
    const current = seen && seen.at >= (record?.observedAt ?? 0) ? seen.observed : recordedDefinition(record);
    // A name no listing showed is left to the backend to answer (a client learns names from lists, which hold drift back).
    if (!current && state.baselines.size > 0) return undefined;
    const hold = this.hold(state, kind, name, current, record?.scope ?? "");
    if (!hold || (hold.status !== "suspicious" && state.policy.driftMode !== "block")) return undefined;
    return definitionNotApproved(backend, kind, name, hold);
  }

  /**
   * A resources/read is refused when its URI is one a held-back template can expand to and no
   * template that may be served can: the URI then reaches the backend only through a definition no
   * one approved. A URI no template matches (a listed resource) is left to the backend.
   */
  private readRefusal(backend: string, state: BackendPins, uri: unknown): McpError | undefined {
    if (typeof uri !== "string") return undefined;
    const seen = this.seen.get(backend);
    const names = new Set<string>();
    for (const record of state.records.values()) if (record.kind === "resourceTemplate") names.add(record.name);
    if (seen) for (const [seenKey, entry] of seen) if (seenKey.startsWith(TEMPLATE_KEY_PREFIX)) names.add(entry.observed.name);
    if (names.size === 0) return undefined;
    let refused: McpError | undefined;
    for (const name of names) {
      const record = state.records.get(key("resourceTemplate", name));
      const seenNow = seen?.get(key("resourceTemplate", name));
      const current = seenNow && seenNow.at >= (record?.observedAt ?? 0) ? seenNow.observed : recordedDefinition(record);
      // Not listed now (removed): the backend no longer offers it, and answers the read itself.
      if (!current) continue;
      const hold = this.hold(state, "resourceTemplate", name, current, record?.scope ?? "");
      const blocked = hold !== undefined && (hold.status === "suspicious" || state.policy.driftMode === "block");
      if (!blocked) {
        if (matchesUriTemplate(String(current.definition.uriTemplate), uri)) return undefined;
        continue;
      }
      // The pinned URI template too: a template that changed its own still answers what it used to.
      const templates = [current.definition.uriTemplate, record?.pinnedDefinition?.uriTemplate];
      if (!refused && templates.some((template) => typeof template === "string" && matchesUriTemplate(template, uri)))
        refused = definitionNotApproved(backend, "resourceTemplate", name, hold);
    }
    return refused;
  }

  listed(connection: GuardedConnection, request: Request, result: Result, scope: string): Result {
    const kind = kindOfList(request.method);
    if (kind === undefined) return result;
    const state = this.states.get(connection.name) ?? { policy: defaultPinPolicy(connection.name), baselines: new Set<string>(), records: new Map() };
    if (state.policy.driftMode === "off") return result;
    const listKey = LISTS[kind].key;
    const items = result[listKey];
    if (!Array.isArray(items)) return result;
    const complete = (request.params as { cursor?: unknown } | undefined)?.cursor === undefined && result.nextCursor === undefined;
    const observed = this.observe(connection.name, kind, items as Record<string, unknown>[]);
    let out: unknown[] | undefined;
    for (const [i, item] of observed.entries()) {
      const hold = this.hold(state, kind, item.name, item, scope);
      if (hold && state.policy.driftMode === "block") out ??= items.slice(0, i);
      else if (hold) {
        out ??= items.slice(0, i);
        out.push(flagged(items[i] as Record<string, unknown>, hold));
      } else out?.push(items[i]);
    }
    this.record(connection.name, kind, state, observed, complete, scope);
    // A paginated first contact is pinned from a listing of every page, which the gateway makes itself.
    if (!complete && !state.baselines.has(baselineKey(kind, scope))) this.check(connection, false);
    return out ? { ...result, [listKey]: out } : result;
  }

  connected(connection: GuardedConnection): void {
    let open = this.connections.get(connection.name);
    if (!open) {
      open = new Set();
      this.connections.set(connection.name, open);
    }
    if (open.size >= PRUNE_AT) for (const other of open) if (other.isClosed) open.delete(other);
    open.add(connection);
    this.check(connection, false);
  }

  listChanged(connection: GuardedConnection): void {
    this.check(connection, true, true);
  }

  /**
   * The periodic re-check: each backend is listed through one open connection per capability scope
   * (backends list more to clients that can sample…). What it finds is announced to clients (record()).
   */
  private recheck(): void {
    for (const [backend, open] of this.connections) {
      const byScope = new Map<string, GuardedConnection>();
      for (const connection of open) {
        if (connection.isClosed) open.delete(connection);
        else if (!byScope.has(connection.pinScope)) byScope.set(connection.pinScope, connection);
      }
      if (open.size === 0) this.connections.delete(backend);
      for (const connection of byScope.values()) this.check(connection, true);
    }
  }

  /**
   * Lists every kind the backend serves, all pages, past the guard, and records the complete lists.
   * `backendAnnounced`: the backend's own list_changed asked for it, and its clients were told.
   */
  private check(connection: GuardedConnection, force: boolean, backendAnnounced = false): void {
    const backend = connection.name;
    if (this.states.get(backend)?.policy.driftMode === "off") return;
    if (!force && Date.now() - (this.lastCheck.get(backend) ?? 0) < CHECK_SPACING_MS) return;
    const previous = this.checks.get(backend) ?? Promise.resolve();
    if (!force && this.checks.has(backend)) return;
    this.lastCheck.set(backend, Date.now());
    const run = previous
      .then(async () => {
        if (backendAnnounced) this.announcedByBackend.add(backend);
        try {
          await this.listEverything(connection);
        } finally {
          this.announcedByBackend.delete(backend);
        }
      })
      .catch((err) => this.deps.logger.warn({ backend, err: describeError(err) }, "pinned definitions not checked"));
    const tracked = run.finally(() => this.checks.get(backend) === tracked && this.checks.delete(backend));
    this.checks.set(backend, tracked);
  }

  private async listEverything(connection: GuardedConnection): Promise<void> {
    for (const kind of servedKinds(connection.serverCapabilities)) {
      const items = await listDefinitions((request) => connection.request(request, { unguarded: true }), kind);
      if (!items) continue;
      const state = this.states.get(connection.name) ?? { policy: defaultPinPolicy(connection.name), baselines: new Set<string>(), records: new Map() };
      this.record(connection.name, kind, state, this.observe(connection.name, kind, items), true, connection.pinScope);
      await this.writes.get(connection.name);
    }
  }

  /** Hashes and findings of listed items, cached per name by the item's JSON text. */
  observe(backend: string, kind: PinKind, items: Record<string, unknown>[]): ObservedDefinition[] {
    let seen = this.seen.get(backend);
    if (!seen) {
      seen = new Map();
      this.seen.set(backend, seen);
    }
    const now = Date.now();
    let names: string[] | undefined;
    return items.map((item) => {
      const name = String(item.name ?? item.uriTemplate);
      const raw = JSON.stringify(item);
      const cached = seen.get(key(kind, name));
      if (cached?.raw === raw) return cached.observed;
      names ??= items.map((other) => String(other.name));
      const observed = describeDefinition(kind, item, names);
      seen.set(key(kind, name), { raw, observed, at: now });
      return observed;
    });
  }

  /** Why a definition is held back now, or undefined when it may be served. */
  private hold(state: BackendPins, kind: PinKind, name: string, current: ObservedDefinition | undefined, scope: string): HoldReason | undefined {
    if (state.policy.driftMode === "off") return undefined;
    const record = state.records.get(key(kind, name));
    // Explicit pinning trusts nothing the operator did not pin; tofu trusts what a scope lists first (record() pins it).
    if (state.policy.pinMode === "explicit" && !record?.pinnedHash) return { status: "unpinned" };
    if (!state.baselines.has(baselineKey(kind, scope)) && !record) return undefined;
    if (!current) return { status: record?.status === "removed" ? "removed" : "unpinned" };
    if (record?.pinnedHash === current.hash) {
      if (state.policy.suspicious === "block" && record.approvedBy === undefined && current.findings.length > 0)
        return { status: "suspicious", findings: current.findings };
      return undefined;
    }
    if (!record?.pinnedHash) return { status: "added" };
    return { status: "changed", fields: changedFields(record.pinnedDefinition, current.definition) };
  }

  /** Writes what was listed when it differs from what the store holds; one write at a time per backend. */
  private record(backend: string, kind: PinKind, state: BackendPins, observed: ObservedDefinition[], complete: boolean, scope: string): void {
    if (!this.differs(state, kind, observed, complete, scope)) return;
    const previous = this.writes.get(backend) ?? Promise.resolve();
    const write = previous
      .then(async () => {
        // Another write may have brought the store up to date meanwhile.
        const fresh = this.states.get(backend) ?? state;
        if (!this.differs(fresh, kind, observed, complete, scope)) return;
        const transitions = await this.deps.repository.observe(backend, kind, observed, complete, Date.now(), scope);
        await this.reload(false);
        if (transitions.length === 0) return;
        const policy = this.states.get(backend)?.policy ?? fresh.policy;
        this.deps.onTransitions(transitions, policy);
        // Clients hear of what this replica found (other replicas announce on reload): unless the
        // backend's own list_changed already told them, a re-check or reconnect that hides or
        // restores a definition would otherwise go unnoticed until they list again.
        if (!this.announcedByBackend.has(backend) && transitions.some((t) => changesWhatClientsSee(t, policy))) this.deps.onVisibleChange?.(backend, [kind]);
      })
      .catch((err) => this.deps.logger.warn({ backend, kind, err: describeError(err) }, "listed definitions not recorded"));
    this.writes.set(backend, write);
    void write.finally(() => this.writes.get(backend) === write && this.writes.delete(backend));
  }

  private differs(state: BackendPins, kind: PinKind, observed: ObservedDefinition[], complete: boolean, scope: string): boolean {
    if (!state.baselines.has(baselineKey(kind, scope)) && state.policy.pinMode === "tofu" && complete) return true;
    for (const item of observed) {
      const record = state.records.get(key(kind, item.name));
      if (!record || record.status === "removed" || recordedDefinition(record)?.hash !== item.hash) return true;
    }
    if (!complete) return false;
    const names = new Set(observed.map((item) => item.name));
    for (const record of state.records.values())
      if (record.kind === kind && record.scope === scope && record.status !== "removed" && !names.has(record.name)) return true;
    return false;
  }
}

/**
 * Whether a transition changes what clients are served: drift hides or flags, a return to the pin
 * restores, a removal drops. Trust on first use serves what was served before, unless suspicious
 * text is blocked.
 */
function changesWhatClientsSee(t: PinTransition, policy: PinPolicy): boolean {
  if (policy.driftMode === "off") return false;
  if (t.from === "none" && t.to === "pinned") return policy.suspicious === "block" && t.findings.length > 0;
  return true;
}

/** The definition the store last recorded for a name: the observed one when it drifted, else the pinned one. */
function recordedDefinition(record: PinRecord | undefined): ObservedDefinition | undefined {
  if (!record) return undefined;
  const hash = record.status === "pinned" ? record.pinnedHash : record.observedHash;
  const definition = record.status === "pinned" ? record.pinnedDefinition : record.observedDefinition;
  return hash && definition ? { name: record.name, hash, definition, findings: record.findings } : undefined;
}

function flagged(item: Record<string, unknown>, hold: HoldReason): Record<string, unknown> {
  const meta = (item._meta ?? {}) as Record<string, unknown>;
  return { ...item, _meta: { ...meta, [PIN_FLAG]: hold } };
}

/** The kinds whose pins or policy differ between two loads of a backend. */
function changedKinds(before: BackendPins | undefined, after: BackendPins | undefined): PinKind[] {
  const kinds = new Set<PinKind>();
  const policy = (state: BackendPins | undefined) => (state ? `${state.policy.driftMode}/${state.policy.suspicious}/${state.policy.pinMode}` : "");
  const policyChanged = policy(before) !== policy(after);
  const signature = (state: BackendPins | undefined, record: PinRecord) => {
    const other = state?.records.get(key(record.kind, record.name));
    return other ? `${other.status}/${other.pinnedHash}/${other.observedHash}/${other.approvedBy}` : "";
  };
  for (const record of [...(before?.records.values() ?? []), ...(after?.records.values() ?? [])]) {
    if (policyChanged || signature(before, record) !== signature(after, record)) kinds.add(record.kind);
  }
  return [...kinds];
}
