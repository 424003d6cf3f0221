import type { ClientCapabilities, Request, Result } from "@modelcontextprotocol/sdk/types.js";
import { ErrorCode, McpError } from "../protocol/mcp-values.ts";
import type { BackendConnection } from "../backends/backend-connection.ts";
import type { BackendPool, SessionSink } from "../backends/backend-pool.ts";
import type { BackendSpec } from "../backends/backend-spec.ts";
import type { ClientRequestExtra, ExchangeRound } from "../pipeline/caller-session.ts";
import { forLegacyBackend } from "./legacy-request.ts";
import { type BoundState, RequestStateError, type RequestStateSealer, requestDigest } from "./request-state-seal.ts";

/**
 * The bridge from a 2026-07-28 client to a 2025-era backend that asks its client something during
 * a call (sampling/createMessage, elicitation/create, roots/list). The modern client cannot take a
 * server-to-client request; it takes an `input_required` result and retries (MRTR). So:
 *
 * 1. The call runs on a connection initialised with the client's own capabilities (so the backend
 *    offers the same tools it would to that client), leased to this one call: whatever the backend
 *    asks on it belongs to the call.
 * 2. When the backend asks, the client gets `input_required` with the question and a sealed
 *    requestState (request-state-seal.ts) bound to the caller, the backend, a digest of the
 *    original request and a deadline. The backend's call stays open, waiting.
 * 3. The client's retry (new id, same params, `inputResponses`, the state) is checked — sealed by
 *    this gateway, same caller, same backend, same request, not expired, not used before on any
 *    replica — and the answer goes to the waiting backend request; the call goes on to its result
 *    or to the next question. Every round names the exchange it belongs to (the audit ties the
 *    rounds of one call together by it).
 * 4. A retry that reaches a replica without the waiting call (another replica, or a restart) is
 *    replayed: the call is made again and the backend's questions are answered from the answers
 *    the sealed state carries, in order, until it asks something new. The tool then runs twice;
 *    docs/relay.md says so.
 */
export interface InputBridgeDeps {
  pool: BackendPool;
  sealer: RequestStateSealer;
  /** How long a call may wait for the client's answer, and a requestState stays good (MCPGW_INPUT_TTL). */
  ttlMs: number;
}
/** Idle leased connections kept per backend and capability set. */
const IDLE_PER_KEY = 4;
/** Methods that may answer input_required (2026-07-28 basic/patterns/mrtr). */
export const INPUT_METHODS: ReadonlySet<string> = new Set(["tools/call", "prompts/get", "resources/read"]);

interface Answer {
  method: string;
  response: unknown;
}

interface Question {
  key: string;
  request: Request;
  answer(response: unknown): void;
}

/** What the sealed requestState holds. */
interface StatePayload extends BoundState {
  /** The bridged call it continues (on the replica that holds it). */
  call: string;
  /** The question this state answers. */
  asked: { key: string; method: string };
  /** Every earlier answer, in order, for a replay. */
  answers: Answer[];
}

/** One bridged call: its leased connection, its backend request, and what it is waiting for. */
class BridgedCall {
  readonly id = crypto.randomUUID();
  readonly controller = new AbortController();
  readonly answers: Answer[] = [];
  question: Question | undefined;
  private asked = Promise.withResolvers<void>();
  private questionCount = 0;
  /** The current round's client request: where progress goes. */
  round: ClientRequestExtra | undefined;
  result!: Promise<Result>;
  expiry: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly method: string,
    readonly connection: BackendConnection,
    readonly subject: string,
    readonly backend: string,
    readonly digest: string,
    /** Answers to give without asking, in order (a replay). */
    readonly replay: Answer[],
    readonly exchange: string,
  ) {}

  /** A request the backend started on this call's connection. */
  ask(request: Request): Promise<unknown> {
    // Only tools/call, prompts/get and resources/read may answer input_required (MRTR).
    if (!INPUT_METHODS.has(this.method))
      return Promise.reject(new McpError(ErrorCode.MethodNotFound, `${request.method} cannot be answered during ${this.method}`));
    const recorded = this.replay[0];
    if (recorded && recorded.method === request.method) {
      this.replay.shift();
      this.answers.push(recorded);
      return Promise.resolve(recorded.response);
    }
    this.replay.length = 0;
    const { promise, resolve } = Promise.withResolvers<unknown>();
    this.question = {
      key: `q${++this.questionCount}`,
      request,
      answer: (response) => {
        this.answers.push({ method: request.method, response });
        this.question = undefined;
        resolve(response);
      },
    };
    this.asked.resolve();
    return promise;
  }

  /** Settles with the backend's result, or when the backend asks the client something. */
  async next(): Promise<Result | Question> {
    this.asked = Promise.withResolvers<void>();
    if (this.question) return this.question;
    return Promise.race([this.result, this.asked.promise.then(() => this.question!)]);
  }
}

export class InputBridge {
  private readonly calls = new Map<string, BridgedCall>();
  private readonly idle = new Map<string, { connection: BackendConnection; lessee: { call?: BridgedCall } }[]>();
  /** Set at shutdown: connections released after it close (a leftover stdio child would keep the process alive). */
  private closed = false;

  constructor(private readonly deps: InputBridgeDeps) {}

  /**
   * Runs a call (or the next round of one) for a modern client on a 2025-era backend; see the class
   * comment. `caller.exchange` is set once the request is known to be a round of an exchange.
   */
  async call(
    spec: BackendSpec,
    request: Request,
    extra: ClientRequestExtra,
    capabilities: ClientCapabilities,
    subject: string,
    caller: ExchangeRound,
  ): Promise<Result> {
    const params = (request.params ?? {}) as Record<string, unknown>;
    const { inputResponses, requestState, ...original } = params;
    const digest = await requestDigest(request.method, original);
    let call: BridgedCall | undefined;
    let replay: Answer[] = [];
    let exchange: string = crypto.randomUUID();
    if (requestState !== undefined) {
      const state = await this.verified(requestState, subject, spec.name, digest);
      const response = (inputResponses as Record<string, unknown> | undefined)?.[state.asked.key];
      if (response === undefined) throw invalid(`inputResponses has no answer for "${state.asked.key}", the input this requestState asks for`);
      // Spent before the answer is used, on the store every replica shares: a refused retry leaves it good.
      await this.deps.sealer.spend(state.id, state.exp).catch(refusedState);
      exchange = state.exchange;
      caller.exchange = exchange;
      call = this.calls.get(state.call);
      if (call?.question?.key === state.asked.key) call.question.answer(response);
      else replay = [...state.answers, { method: state.asked.method, response }];
      if (call && call.question !== undefined) call = undefined;
    }
    call ??= this.start(spec, { method: request.method, params: original }, capabilities, subject, digest, replay, exchange);
    return this.round(call, extra, caller);
  }

  private start(
    spec: BackendSpec,
    request: Request,
    capabilities: ClientCapabilities,
    subject: string,
    digest: string,
    replay: Answer[],
    exchange: string,
  ): BridgedCall {
    const leased = this.lease(spec, capabilities);
    const call = new BridgedCall(request.method, leased.connection, subject, spec.name, digest, replay, exchange);
    leased.lessee.call = call;
    this.calls.set(call.id, call);
    call.result = leased.connection
      .request(forLegacyBackend(request), {
        signal: call.controller.signal,
        // The backend may wait on the client's answer for as long as the state stays good.
        timeoutMs: this.deps.ttlMs,
        onprogress: (progress) => {
          const token = call.round?._meta?.progressToken;
          if (token !== undefined)
            void call.round?.sendNotification({ method: "notifications/progress", params: { ...progress, progressToken: token } }).catch(() => undefined);
        },
      })
      .finally(() => {
        this.calls.delete(call.id);
        clearTimeout(call.expiry);
        leased.lessee.call = undefined;
        this.release(spec, capabilities, leased);
      });
    // A call nobody retries is cancelled at the backend once its state could no longer be presented.
    call.result.catch(() => undefined);
    return call;
  }

  private async round(call: BridgedCall, extra: ClientRequestExtra, caller: ExchangeRound): Promise<Result> {
    clearTimeout(call.expiry);
    call.round = extra;
    // The client gave up on this round (closed its request): the call ends with it.
    const onAbort = () => call.controller.abort(extra.signal.reason);
    extra.signal.addEventListener("abort", onAbort, { once: true });
    try {
      const next = await call.next();
      if (!isQuestion(next)) return next;
      caller.exchange = call.exchange;
      call.expiry = setTimeout(() => call.controller.abort(new Error("the client did not answer in time")), this.deps.ttlMs);
      const state: StatePayload = {
        id: crypto.randomUUID(),
        call: call.id,
        exchange: call.exchange,
        sub: call.subject,
        backend: call.backend,
        digest: call.digest,
        exp: Date.now() + this.deps.ttlMs,
        asked: { key: next.key, method: next.request.method },
        answers: call.answers,
      };
      return {
        resultType: "input_required",
        inputRequests: { [next.key]: { method: next.request.method, params: next.request.params ?? {} } },
        requestState: await this.deps.sealer.seal(state),
      };
    } finally {
      extra.signal.removeEventListener("abort", onAbort);
      call.round = undefined;
    }
  }

  private async verified(text: unknown, sub: string, backend: string, digest: string): Promise<StatePayload> {
    return this.deps.sealer.openBound<StatePayload>(text, { sub, backend, digest }).catch(refusedState);
  }

  /** A connection initialised with the client's capabilities, for one call at a time. */
  private lease(spec: BackendSpec, capabilities: ClientCapabilities): { connection: BackendConnection; lessee: { call?: BridgedCall } } {
    const key = leaseKey(spec, capabilities);
    const idle = this.idle.get(key);
    while (idle && idle.length > 0) {
      const leased = idle.pop()!;
      if (!leased.connection.isClosed && leased.connection.spec === spec) return leased;
      void leased.connection.close();
    }
    const lessee: { call?: BridgedCall } = {};
    const sink: SessionSink = {
      id: `bridge-${spec.name}`,
      deliverNotification: () => undefined,
      relayRequest: async (_backend, request) => {
        // Only the call holding the lease is asked; a request between calls (a server asking for
        // roots right after initialize) has no one to answer it.
        if (!lessee.call) throw new McpError(ErrorCode.InternalError, `${request.method}: no call of this client is in progress`);
        return lessee.call.ask(request) as Promise<Result>;
      },
      requestedLogLevel: () => undefined,
      isSubscribed: () => false,
    };
    return { connection: this.deps.pool.acquire(spec, sink, capabilities), lessee };
  }

  private release(spec: BackendSpec, capabilities: ClientCapabilities, leased: { connection: BackendConnection; lessee: { call?: BridgedCall } }): void {
    const key = leaseKey(spec, capabilities);
    const idle = this.idle.get(key) ?? [];
    if (this.closed || leased.connection.isClosed || idle.length >= IDLE_PER_KEY) {
      void leased.connection.close();
      return;
    }
    idle.push(leased);
    this.idle.set(key, idle);
  }

  /** Ends every waiting call and idle connection (shutdown). */
  async closeAll(): Promise<void> {
    this.closed = true;
    const calls = [...this.calls.values()];
    for (const call of calls) call.controller.abort(new Error("the gateway is shutting down"));
    // Each ended call releases (and so closes) its connection.
    await Promise.allSettled(calls.map((call) => call.result));
    const idle = [...this.idle.values()].flat();
    this.idle.clear();
    await Promise.all(idle.map((leased) => leased.connection.close()));
  }
}

function isQuestion(value: Result | Question): value is Question {
  return typeof (value as Question).answer === "function";
}

function invalid(message: string): McpError {
  return new McpError(ErrorCode.InvalidParams, message);
}

/** A presented requestState that is not accepted: -32602 with the reason. Anything else (the store is down) stays what it is. */
export function refusedState(err: unknown): never {
  throw err instanceof RequestStateError ? invalid(err.message) : err;
}

/** Leases are kept per backend, caller credential (per-caller backends) and capabilities. */
function leaseKey(spec: BackendSpec, capabilities: ClientCapabilities): string {
  return `${spec.name}\u0000${spec.credential?.key ?? ""}\u0000${JSON.stringify(capabilities)}`;
}
