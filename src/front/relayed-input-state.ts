import type { Request, Result } from "@modelcontextprotocol/sdk/types.js";
import { ErrorCode, McpError } from "../protocol/mcp-values.ts";
import type { ExchangeRound } from "../pipeline/caller-session.ts";
import { refusedState } from "./input-bridge.ts";
import { type BoundState, type RequestStateSealer, requestDigest } from "./request-state-seal.ts";

/** What the state handed to the client holds: the binding, and the backend's own state inside. */
interface RelayedState extends BoundState {
  /** The backend's requestState, handed back to it on the retry; absent when it gave none. */
  inner?: string;
}

/**
 * input_required from a 2026-07-28 backend to a 2026-07-28 client, passed through: the question
 * goes to the client as the backend asked it, but the backend's `requestState` is wrapped in one
 * the gateway seals (request-state-seal.ts). So, as for the gateway's own bridge:
 * - the state is bound to the caller, the backend, the request and a deadline, and good for one
 *   retry on any replica. A backend may rely on its state alone (the revision asks servers to
 *   protect it, not to bind it to a caller): another caller cannot present it through the gateway;
 * - every round names its exchange, which the audit records, so the requests of one call are
 *   tied together.
 * The backend sees its own state back, exactly as it issued it.
 */
export class RelayedInputStates {
  constructor(
    private readonly sealer: RequestStateSealer,
    private readonly ttlMs: number,
  ) {}

  /** The request as the backend is to see it: the client's state replaced by the backend's own. */
  async unwrap(request: Request, sub: string, backend: string, round: ExchangeRound): Promise<Request> {
    const params = request.params as Record<string, unknown> | undefined;
    if (params?.requestState === undefined) return request;
    const { requestState, ...rest } = params;
    const state = await this.sealer
      .openBound<RelayedState>(requestState, { sub, backend, digest: await requestDigest(request.method, params) })
      .catch(refusedState);
    await this.sealer.spend(state.id, state.exp).catch(refusedState);
    round.exchange = state.exchange;
    return { method: request.method, params: state.inner === undefined ? rest : { ...rest, requestState: state.inner } };
  }

  /** The backend's result as the client is to see it: an input_required result's state sealed around the backend's. */
  async wrap(result: Result, request: Request, sub: string, backend: string, round: ExchangeRound): Promise<Result> {
    if (result.resultType !== "input_required") return result;
    const inner = result.requestState;
    if (inner !== undefined && typeof inner !== "string")
      throw new McpError(ErrorCode.InternalError, `backend ${backend} answered input_required with a requestState that is not a string`);
    round.exchange ??= crypto.randomUUID();
    const state: RelayedState = {
      id: crypto.randomUUID(),
      exchange: round.exchange,
      sub,
      backend,
      digest: await requestDigest(request.method, (request.params ?? {}) as Record<string, unknown>),
      exp: Date.now() + this.ttlMs,
      ...(inner !== undefined && { inner }),
    };
    return { ...result, requestState: await this.sealer.seal(state) };
  }
}
