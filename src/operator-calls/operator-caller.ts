import { LATEST_PROTOCOL_VERSION, type Implementation, type LoggingLevel, type Request, type Result } from "@modelcontextprotocol/sdk/types.js";
import type { BackendPool } from "../backends/backend-pool.ts";
import type { BackendRegistry } from "../backends/backend-registry.ts";
import { unknownBackend } from "../front/gateway-errors.ts";
import type { Principal } from "../pipeline/principal.ts";
import type { Logger } from "../log/logger.ts";
import type { CallerSession, ClientRequestExtra, Sharer, SessionRoute } from "../pipeline/caller-session.ts";

/** The client name audit records of `mcpgw call` and `mcpgw tools list` carry: they came from the CLI, not an MCP client. */
export const OPERATOR_CLIENT_NAME = "mcpgw-cli";

/**
 * A call made from the operator's own process (`mcpgw call`, `mcpgw tools list`) as the
 * pipeline's caller: one backend per call, reached over the pool's shared connection, which the
 * CLI process opens itself. It declares no client capabilities, so a backend starts nothing
 * (sampling, elicitation, roots) on it; a 2026-07-28 backend's input_required comes back as the
 * result, which the CLI reports as a question it cannot answer.
 */
export class OperatorCaller implements CallerSession {
  readonly id = "";
  readonly era = "legacy";
  // No MCP session between the CLI and the gateway: the audit records the revision the gateway speaks.
  readonly protocolVersion = LATEST_PROTOCOL_VERSION;
  readonly jobs = undefined;
  readonly subscriptions = new Set<string>();
  readonly route: SessionRoute;
  readonly clientInfo: Implementation;
  lastActivity = Date.now();
  logLevel: LoggingLevel | undefined;

  constructor(
    backend: string,
    version: string,
    readonly log: Logger,
    private readonly registry: BackendRegistry,
    private readonly pool: BackendPool,
  ) {
    this.route = { kind: "backend", backend };
    this.clientInfo = { name: OPERATOR_CLIENT_NAME, version };
  }

  backendNames(): string[] {
    return this.route.kind === "backend" ? [this.route.backend] : [];
  }

  othersSharing(): Sharer[] {
    return [];
  }

  async forward(backend: string, request: Request, extra: ClientRequestExtra): Promise<Result> {
    const spec = this.registry.get(backend);
    if (!spec || this.route.kind !== "backend" || this.route.backend !== backend) throw unknownBackend(backend);
    // As the subject of --as: a per-caller backend gets that subject's credential.
    const connection = this.pool.acquire(this.pool.bind(spec, extra.authInfo?.extra?.principal as Principal | undefined), this.pool.discoverySink, {});
    const gate = this.pool.gate(spec);
    const send = () => connection.request(request, { signal: extra.signal });
    return gate ? gate.run(extra.signal, send) : send();
  }
}
