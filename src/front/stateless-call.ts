import type { ClientCapabilities, Implementation, LoggingLevel, Progress, Request, Result } from "@modelcontextprotocol/sdk/types.js";
import { BackendPool, type SessionSink } from "../backends/backend-pool.ts";
import type { BackendRegistry } from "../backends/backend-registry.ts";
import type { TaskRouting } from "../pipeline/route.ts";
import type { Logger } from "../log/logger.ts";
import type { CallerSession, ClientRequestExtra, Sharer, SessionRoute } from "../pipeline/caller-session.ts";
import { principalOf } from "../auth/request-context.ts";
import { unknownBackend } from "../protocol/gateway-errors.ts";
import type { InputBridge } from "./input-bridge.ts";
import { forLegacyBackend } from "./legacy-request.ts";
import type { RelayedInputStates } from "./relayed-input-state.ts";

/** The shared connections' capabilities: none (one object, not one per call). */
export const NO_CAPABILITIES: ClientCapabilities = Object.freeze({});

/** What every stateless call shares: where backends are, and the one sink their shared connections report to. */
export interface StatelessCallDeps {
  registry: BackendRegistry;
  pool: BackendPool;
  /** Stands for every modern caller on the backends' shared connections (notifications for subscriptions/listen). */
  sink: SessionSink;
  /** Calls of clients that can answer questions (sampling, elicitation, roots) to 2025-era backends. */
  bridge: InputBridge;
  /** The requestStates of 2026-07-28 backends' input_required, sealed around for the client. */
  relayedStates: RelayedInputStates;
}

/**
 * One 2026-07-28 request as the pipeline's caller: no session, no state kept after it. Its
 * backends are reached over the pool's shared connections, which carry no client capabilities, so
 * a 2025-era backend never starts a request (sampling, elicitation, roots) on them. A client that
 * declared such capabilities has its calls to a 2025-era backend bridged (input-bridge.ts): what
 * the backend asks comes back to it as input_required.
 */
export class StatelessCall implements CallerSession {
  readonly id = "";
  readonly era = "modern";
  // The pipeline stamps it when the call starts; nothing reads it for a caller that outlives no request.
  lastActivity = 0;
  private subscribed: Set<string> | undefined;
  exchange: string | undefined;

  constructor(
    readonly route: SessionRoute,
    readonly protocolVersion: string,
    readonly clientInfo: Implementation | undefined,
    readonly clientCapabilities: ClientCapabilities,
    public logLevel: LoggingLevel | undefined,
    readonly log: Logger,
    private readonly deps: StatelessCallDeps,
    /** MCP Tasks, for a client that declared the tasks extension on this request. */
    readonly tasks: TaskRouting | undefined,
  ) {}

  /** Made on first use: a 2026-07-28 client subscribes on subscriptions/listen, so almost no call needs one. */
  get subscriptions(): Set<string> {
    return (this.subscribed ??= new Set());
  }

  backendNames(): string[] {
    if (this.route.kind === "backend") return [this.route.backend];
    return this.deps.registry
      .list()
      .map((spec) => spec.name)
      .sort();
  }

  /** Nothing to arbitrate: a stateless caller sets no level on, and subscribes to nothing at, a backend. */
  othersSharing(): Sharer[] {
    return [];
  }

  async forward(backend: string, request: Request, extra: ClientRequestExtra): Promise<Result> {
    const stored = this.deps.registry.get(backend);
    if (!stored || (this.route.kind === "backend" && this.route.backend !== backend)) throw unknownBackend(backend);
    const gate = this.deps.pool.gate(stored);
    // A per-caller backend is reached with this caller's credential, on a connection of that credential only.
    const spec = this.deps.pool.bind(stored, principalOf(extra.authInfo));
    const connection = this.deps.pool.acquire(spec, this.deps.sink, NO_CAPABILITIES);
    if (connection.era === undefined) await connection.connect();
    if (connection.era === "modern") {
      // Era to era: the request goes on as it came (its _meta and inputResponses included) with the
      // client's own capabilities, and an input_required result comes back with its question as the
      // backend asked it; only the backend's requestState travels sealed inside the gateway's.
      const states = this.deps.relayedStates;
      const subject = subjectOf(extra);
      const sent = await states.unwrap(request, subject, backend, this);
      const modern = () =>
        connection.request(sent, {
          signal: extra.signal,
          clientCapabilities: this.clientCapabilities,
          ...(extra._meta?.progressToken !== undefined && { onprogress: this.progressRelay(extra) }),
        });
      return states.wrap(await (gate ? gate.run(extra.signal, modern) : modern()), request, subject, backend, this);
    }
    // A 2025-era backend must see the client's capabilities on every request (a list included: it
    // offers sampling and elicitation tools only to clients that can answer them).
    if (BackendPool.needsDedicated(this.clientCapabilities)) {
      const subject = subjectOf(extra);
      const bridged = () => this.deps.bridge.call(spec, request, extra, this.clientCapabilities, subject, this);
      return gate ? gate.run(extra.signal, bridged) : bridged();
    }
    const options = extra._meta?.progressToken === undefined ? { signal: extra.signal } : { signal: extra.signal, onprogress: this.progressRelay(extra) };
    if (!gate) return connection.request(forLegacyBackend(request), options);
    return gate.run(extra.signal, () => connection.request(forLegacyBackend(request), options));
  }

  /** Progress comes back under the gateway's token; the client gets it under its own. */
  private progressRelay(extra: ClientRequestExtra): (progress: Progress) => void {
    const progressToken = extra._meta?.progressToken;
    return (progress) =>
      void extra.sendNotification({ method: "notifications/progress", params: { ...progress, progressToken } } as never).catch(() => undefined);
  }
}

function subjectOf(extra: ClientRequestExtra): string {
  return principalOf(extra.authInfo)?.subject ?? "anonymous";
}
