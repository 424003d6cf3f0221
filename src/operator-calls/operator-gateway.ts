import type { Request, Result } from "@modelcontextprotocol/sdk/types.js";
import type { AuditContext, AuditEntry, AuditOutcome, Auditor } from "../audit/auditor.ts";
import { NoAuditor } from "../audit/no-auditor.ts";
import { StoreAuditor } from "../audit/store-auditor.ts";
import { cliInstance } from "../audit/chain-identity.ts";
import { BackendPool } from "../backends/backend-pool.ts";
import { BackendRegistry, credentialMode } from "../backends/backend-registry.ts";
import { PinGuard } from "../pinning/pin-guard.ts";
import { reportPinTransitions } from "../pinning/pin-events.ts";
import type { Settings } from "../config/settings.ts";
import { CredentialBinder } from "../backends/credential-binder.ts";
import { SubjectSecrets } from "../credentials/subject-secrets.ts";
import { CredentialNamingAuditor } from "../credentials/credential-auditor.ts";
import { GatewayAssertionSigner } from "../auth/gateway-assertion.ts";
import { LeasingRateLimiter } from "../limits/rate-limiter.ts";
import type { Logger } from "../log/logger.ts";
import type { ClientRequestExtra, Pipeline } from "../pipeline/caller-session.ts";
import { createPipeline } from "../pipeline/pipeline.ts";
import type { Principal } from "../auth/principal.ts";
import { PolicyEngine } from "../policy/policy-engine.ts";
import { ChangeWatcher } from "../store/change-watcher.ts";
import type { Store } from "../store/store.ts";
import { hostname } from "node:os";
import { OPERATOR_CLIENT_NAME, OperatorCaller } from "./operator-caller.ts";
import { contextAuthInfo } from "../auth/request-context.ts";

export interface OperatorGatewayOptions {
  /** An open store whose schema is current; the caller closes it. */
  store: Store;
  settings: Settings;
  logger: Logger;
  /** The environment stdio backends inherit and ${VAR} references resolve from, as for `mcpgw serve`. */
  env: Record<string, string | undefined>;
  version: string;
}

/**
 * The gateway's admission path inside the CLI process, for `mcpgw call` and `mcpgw tools list`:
 * the same pipeline (route → authorize → limit → audit → forward) over the same policy, limits
 * and audit log as `mcpgw serve`, loaded from the same database, with backends the CLI process
 * opens itself. No running gateway is needed, and none is asked: whoever holds the database URL
 * can already issue tokens for any subject, so calling as one (`--as`) grants nothing new.
 *
 * Its audit records go to a chain of its own, under the instance name "cli.<instance>", so that a
 * gateway on the same host is never taken for a previous run of it (or it for one of the gateway).
 */
export class OperatorGateway {
  private constructor(
    private readonly options: OperatorGatewayOptions,
    private readonly watcher: ChangeWatcher,
    private readonly registry: BackendRegistry,
    private readonly policy: PolicyEngine,
    private readonly pool: BackendPool,
    private readonly pipeline: Pipeline,
    private readonly auditor: ChainOnFirstRecord | undefined,
    private readonly pins: PinGuard,
  ) {}

  /** Loads backends, policy and limits from the store and opens this process's audit chain. */
  static async open(options: OperatorGatewayOptions): Promise<OperatorGateway> {
    const { store, settings, logger } = options;
    const watcher = new ChangeWatcher(store, logger);
    const registry = new BackendRegistry(store, logger, watcher);
    const policy = new PolicyEngine(store, logger, watcher);
    const limiter = new LeasingRateLimiter(store.limits);
    watcher.on("limits", async () => limiter.setRules(await store.limits.list()));
    // The same pins as a running gateway: a drifted tool is not listed or called from the CLI either.
    let reportPins: ReturnType<typeof reportPinTransitions> | undefined;
    const pins = new PinGuard({ repository: store.pins, logger, recheckMs: 0, onTransitions: (transitions, policy) => reportPins?.(transitions, policy) });
    watcher.on("pins", () => pins.reload());
    const secrets = new SubjectSecrets(store.subjectSecrets, settings.secretKeys, watcher);
    await watcher.start();
    // Nothing changes under a single command worth reloading for; the watcher only loaded the configuration.
    watcher.stop();
    let auditor: ChainOnFirstRecord | undefined;
    if (settings.audit.enabled) {
      const instance = cliInstance(settings.audit.instance, hostname());
      auditor = new ChainOnFirstRecord(() => StoreAuditor.start({ repository: store.audit, logger, settings: { ...settings.audit, instance } }));
    } else {
      logger.warn("MCPGW_AUDIT=off: this call is NOT audited (for development and benchmarks only)");
    }
    reportPins = reportPinTransitions(auditor ?? new NoAuditor(), logger);
    // The CLI holds the database, so it signs gateway assertions with the gateway's key, as serve does.
    const credentials = new CredentialBinder({
      assertions: new GatewayAssertionSigner(() => store.signingKeys.list(), settings.auth.tokenIssuer),
      secrets,
    });
    const pool = new BackendPool({
      env: options.env,
      logger,
      version: options.version,
      maxProcessesPerBackend: settings.maxProcessesPerBackend,
      credentials,
      guard: pins,
    });
    const modeOf = (name: string) => credentialMode(registry, name);
    const named = new CredentialNamingAuditor(auditor ?? new NoAuditor(), modeOf);
    const pipeline = createPipeline({ auditor: named, policy, limiter, credentialMode: modeOf });
    return new OperatorGateway(options, watcher, registry, policy, pool, pipeline, auditor, pins);
  }

  /** The registered backends' names, sorted. */
  backendNames(): string[] {
    return this.registry
      .list()
      .map((spec) => spec.name)
      .sort();
  }

  hasBackend(name: string): boolean {
    return this.registry.get(name) !== undefined;
  }

  /** The roles policy decides a subject's calls by: those granted to it in the database. */
  rolesOf(subject: string): string[] {
    return this.policy.current.rolesOf(subject, []);
  }

  /**
   * Sends one request to one backend as `subject` (with the roles granted to it), through the
   * pipeline: a refusal is audited and thrown as the gateway's JSON-RPC error, as a client gets it.
   */
  async request(subject: string, backend: string, request: Request, signal: AbortSignal): Promise<Result> {
    const caller = new OperatorCaller(backend, this.options.version, this.options.logger, this.registry, this.pool);
    const principal: Principal = { subject, roles: [], anonymous: false };
    const extra = {
      signal,
      requestId: `cli-${crypto.randomUUID()}`,
      authInfo: contextAuthInfo({ token: "", clientId: OPERATOR_CLIENT_NAME, scopes: [] }, { principal, source: "operator" }),
      sendNotification: async () => undefined,
      sendRequest: async () => {
        throw new Error("mcpgw call answers no requests from a backend");
      },
    } as unknown as ClientRequestExtra;
    return this.pipeline(caller, request, extra);
  }

  /** Closes the backends (a stdio backend's process is gone when this returns) and ends the audit chain. The store stays open. */
  async close(): Promise<void> {
    this.watcher.stop();
    await this.pins.settled();
    await this.pool.closeAll();
    await this.auditor?.close();
  }
}

/**
 * The store auditor, started when the first record is written: a listing writes none (only its
 * refusals would be), and should not leave an empty audit chain behind for each run.
 */
export class ChainOnFirstRecord implements Auditor {
  private started: Promise<StoreAuditor> | undefined;

  constructor(private readonly start: () => Promise<StoreAuditor>) {}

  async begin(context: AuditContext): Promise<AuditEntry> {
    return (await this.auditor()).begin(context);
  }

  async refuse(context: AuditContext, outcome: AuditOutcome): Promise<void> {
    return (await this.auditor()).refuse(context, outcome);
  }

  async record(context: AuditContext, outcome: AuditOutcome): Promise<void> {
    return (await this.auditor()).record(context, outcome);
  }

  async close(): Promise<void> {
    // A chain that failed to start has nothing to end (the call that needed it was refused).
    const auditor = await this.started?.catch(() => undefined);
    await auditor?.close();
  }

  private auditor(): Promise<StoreAuditor> {
    this.started ??= this.start();
    return this.started;
  }
}
