import { BackendPool } from "./backends/backend-pool.ts";
import { BackendRegistry } from "./backends/backend-registry.ts";
import { CredentialBinder } from "./backends/credential-binder.ts";
import { SubjectSecrets } from "./credentials/subject-secrets.ts";
import { CredentialNamingAuditor } from "./credentials/credential-auditor.ts";
import { credentialMode } from "./backends/backend-registry.ts";
import { GatewayAssertionSigner } from "./auth/gateway-assertion.ts";
import type { Settings } from "./config/settings.ts";
import { NoAuditor } from "./audit/no-auditor.ts";
import { Gauge, MetricsRegistry, QueriedGauge } from "./observability/metrics.ts";
import { JOB_STATUSES } from "./jobs/job-record.ts";
import { ObservingAuditor } from "./observability/observing-auditor.ts";
import { CallFeed } from "./observability/call-feed.ts";
import { CallStats } from "./observability/call-stats.ts";
import { CallStreams } from "./admin/call-stream.ts";
import { AuditMetrics } from "./observability/audit-metrics.ts";
import { registerProcessMetrics } from "./observability/process-metrics.ts";
import { BackendHealthMetrics } from "./observability/backend-health-metrics.ts";
import { BackendStatusBoard, LiveBackendStatus } from "./backends/backend-status.ts";
import { handleTraced } from "./tracing/trace-propagation.ts";
import { StoreAuditor } from "./audit/store-auditor.ts";
import { UnauthenticatedFloodGuard } from "./audit/unauthenticated-flood.ts";
import type { Auditor } from "./audit/auditor.ts";
import { type Authentication, createAuthentication } from "./auth/authentication.ts";
import { McpHttpFront } from "./front/mcp-http-front.ts";
import { RequestStateSealer } from "./front/request-state-seal.ts";
import { shuttingDown } from "./protocol/gateway-errors.ts";
import { createPipeline } from "./pipeline/pipeline.ts";
import { LeasingRateLimiter } from "./limits/rate-limiter.ts";
import { PolicyEngine } from "./policy/policy-engine.ts";
import { ChangeWatcher } from "./store/change-watcher.ts";
import { createOriginGuard } from "./front/origin-guard.ts";
import type { Logger } from "./log/logger.ts";
import { createGatewayApp } from "./server/gateway-app.ts";
import { hostname } from "node:os";
import { JobBackends } from "./jobs/job-backends.ts";
import { JobRunner } from "./jobs/job-runner.ts";
import { JobService } from "./jobs/job-service.ts";
import { JobWorkerPool } from "./jobs/job-worker-pool.ts";
import { createJobsApi } from "./jobs/jobs-api.ts";
import { createAdminApi } from "./admin/admin-api.ts";
import { type Listener, listen } from "./server/http-listener.ts";
import { openStore } from "./store/open-store.ts";
import { assertSchemaCurrent } from "./store/schema-check.ts";
import { SessionPublisher } from "./sessions/session-publisher.ts";
import { instanceFromHost } from "./audit/chain-identity.ts";
import type { Store } from "./store/store.ts";
import { PinGuard } from "./pinning/pin-guard.ts";
import { reportPinTransitions } from "./pinning/pin-events.ts";
import { LISTS } from "./pinning/definition-hash.ts";

export interface RunningGateway {
  readonly url: URL;
  readonly store: Store;
  /** Graceful stop: no new requests, in-flight ones drained up to the configured bound, store closed. */
  shutdown(): Promise<void>;
}

/** Parts a test may substitute (e.g. a capturing Auditor); production passes none. */
export interface GatewayOverrides {
  auditor?: Auditor;
}

/**
 * The composition root of `mcpgw serve`: opens and migrates the store, loads the backends,
 * builds the MCP front and the app, listens. `env` is the gateway's environment, the source of
 * backends' ${VAR} references and of stdio backends' inherited variables.
 */
export async function startGateway(
  settings: Settings,
  logger: Logger,
  version: string,
  env: Record<string, string | undefined>,
  overrides: GatewayOverrides = {},
): Promise<RunningGateway> {
  const store = openStore(settings.databaseUrl, {
    poolSize: settings.dbPoolSize,
    logger,
    // With MCPGW_MIGRATE=off serve only checks: a missing SQLite file is reported, not created empty.
    create: settings.migrate !== "off",
    ...(settings.migrationsDir !== undefined && { migrationsDir: settings.migrationsDir }),
  });
  const watcher = new ChangeWatcher(store, logger);
  const registry = new BackendRegistry(store, logger, watcher);
  const policy = new PolicyEngine(store, logger, watcher);
  const limiter = new LeasingRateLimiter(store.limits);
  watcher.on("limits", async () => limiter.setRules(await store.limits.list()));
  // Prometheus metrics at /metrics: calls, latency and refusals (recorded at the Auditor seam),
  // sessions, backend health (from the pool's connections), the audit queue and its commits.
  const metrics = new MetricsRegistry();
  // The calls this process audits, as they end: counted per minute from the start (GET /v1/admin/stats)
  // and streamed to the console's open live views (GET /v1/admin/calls/stream).
  const callFeed = new CallFeed((err) => logger.error({ err: String(err) }, "a listener of the call feed failed"));
  const callStats = new CallStats();
  callFeed.subscribe(callStats.record);
  const callStreams = new CallStreams(callFeed);
  // Tool-definition pinning: every connection checks lists and calls against the pins (docs/security.md).
  let reportPins: ReturnType<typeof reportPinTransitions> | undefined;
  const pins = new PinGuard({
    repository: store.pins,
    logger: logger.child({ component: "pins" }),
    recheckMs: settings.pinRecheckMs,
    onTransitions: (transitions, policy) => reportPins?.(transitions, policy),
    // Clients list again when what they may see changed (an approval restores a tool live).
    onVisibleChange: (backend, kinds) => {
      for (const kind of kinds) pool.announce(backend, { method: LISTS[kind].changed });
    },
  });
  watcher.on("pins", () => pins.reload());
  metrics.register(
    new Gauge("mcpgw_tool_drift", "Tool, prompt and resource template definitions that differ from their pins (1 while drifted)", () =>
      pins.drifted().map(({ backend, kind, name }) => [{ backend, tool: kind === "tool" ? name : `${kind}:${name}` }, 1] as [Record<string, string>, number]),
    ),
  );
  // Per-caller credentials to backends (docs/security.md): assertions are signed with the gateway's active key.
  const assertions = new GatewayAssertionSigner(() => store.signingKeys.list(), settings.auth.tokenIssuer);
  watcher.on("keys", async () => assertions.keysChanged());
  // Per-subject secrets are decrypted with MCPGW_SECRET_KEY when a call needs one, cached until one changes.
  const secrets = new SubjectSecrets(store.subjectSecrets, settings.secretKeys, watcher);
  // What the connections report: health for /metrics, and what the admin API's backend status shows.
  const backendBoard = new BackendStatusBoard(new BackendHealthMetrics(metrics, () => registry.list().map((spec) => spec.name)));
  const pool = new BackendPool({
    env,
    logger,
    version,
    health: backendBoard,
    maxProcessesPerBackend: settings.maxProcessesPerBackend,
    guard: pins,
    credentials: new CredentialBinder({ assertions, secrets, env }),
  });
  const auditMetrics = new AuditMetrics(metrics);
  const jobBackends = new JobBackends(registry, pool);
  let workers: JobWorkerPool | undefined;
  // The store-backed auditor opens this process's audit chain once the schema is current.
  let storeAuditor: StoreAuditor | undefined;
  let listener: Listener | undefined;
  let floodGuard: UnauthenticatedFloodGuard | undefined;
  let mcp: McpHttpFront | undefined;
  let sessionPublisher: SessionPublisher | undefined;
  metrics.register(new Gauge("mcpgw_sessions", "Open MCP client sessions", () => mcp?.sessionCount ?? 0));
  registerProcessMetrics(metrics, { version });
  metrics.register(new Gauge("mcpgw_jobs_running", "Jobs this gateway's workers are running now", () => workers?.activeCount ?? 0));
  // The queue as the store holds it (every replica's jobs), read when /metrics is scraped.
  metrics.register(
    new QueriedGauge("mcpgw_jobs", "Jobs in the store by status (every replica's; finished ones until their TTL ends)", async () => {
      const counts = await store.jobs.countByStatus();
      return JOB_STATUSES.map((status) => [{ status }, counts[status] ?? 0]);
    }),
  );
  let authentication: Authentication | undefined;
  try {
    if (settings.migrate === "on" || (settings.migrate === "auto" && store.dialect === "sqlite")) {
      const applied = await store.migrate();
      if (applied.length > 0) logger.info({ applied }, "applied migrations");
    } else {
      const newer = await assertSchemaCurrent(store, { allowNewer: true });
      if (newer.length > 0)
        logger.warn({ unknownMigrations: newer }, "a newer mcpgw migrated this database; serving on it (a rolling upgrade); upgrade this gateway");
    }
    // Also marks calls a crashed previous run left unfinished as incomplete (docs/audit.md).
    if (!overrides.auditor && settings.audit.enabled) {
      storeAuditor = await StoreAuditor.start({ repository: store.audit, logger, settings: settings.audit, onCommit: auditMetrics.onCommit });
      auditMetrics.attach(storeAuditor);
    }
    if (!overrides.auditor && !settings.audit.enabled) logger.warn("MCPGW_AUDIT=off: calls are NOT audited (for development and benchmarks only)");
    // One auditor for the pipeline's refusals and calls and the front's unauthenticated requests.
    const recorder = overrides.auditor ?? storeAuditor ?? new NoAuditor();
    // Each record about a backend names the credential mode its calls use (never a value).
    const modeOf = (name: string) => credentialMode(registry, name);
    const auditor = new ObservingAuditor(new CredentialNamingAuditor(recorder, modeOf), logger, metrics, callFeed);
    floodGuard = new UnauthenticatedFloodGuard(auditor, logger);
    // Pin events are not calls: recorded in the audit log, but not counted or logged as calls (they log their own lines).
    reportPins = reportPinTransitions(recorder, logger.child({ component: "pins" }));
    // Asked only for refusals, once the listener (which knows the peer) is up.
    const peerOf = (request: Request) => listener?.peerOf(request);
    // Before watcher.start(), which loads the signing keys and revocations it registers.
    authentication = await createAuthentication(settings.auth, store, logger, watcher);
    await watcher.start();
    pins.start();
    // A changed or removed backend's shared connection closes; sessions reconnect to the new spec on next use.
    registry.onChange((changed, removed) => {
      for (const name of [...changed.map((spec) => spec.name), ...removed]) {
        backendBoard.forget(name);
        void pool.forget(name);
      }
    });
    // Jobs run on the same backends, policy and auditor as direct calls; workers claim from the shared queue.
    workers = new JobWorkerPool({
      repository: store.jobs,
      runner: new JobRunner(jobBackends, pool, settings.jobs),
      auditor,
      settings: settings.jobs,
      logger: logger.child({ component: "jobs" }),
      workerId: `${hostname()}.${process.pid}.${crypto.randomUUID().slice(0, 8)}`,
      // The store auditor failing closed commits each run's record on this store before the backend call.
      claimDurability: overrides.auditor === undefined && storeAuditor !== undefined && !settings.audit.failOpen ? "with-next-commit" : "now",
    });
    const jobs = new JobService({ repository: store.jobs, backends: jobBackends, policy, limiter, auditor, settings: settings.jobs, workers });
    mcp = new McpHttpFront({
      registry,
      pool,
      logger,
      version,
      pipeline: createPipeline({ auditor, policy, limiter, credentialMode: modeOf }),
      jobs,
      maxBodyBytes: settings.maxBodyBytes,
      bodyTimeoutMs: settings.bodyTimeoutMs,
      jsonBudget: settings.jsonBudget,
      sessionIdleMs: settings.sessionIdleMs,
      maxSessionsPerSubject: settings.maxSessionsPerSubject,
      originGuard: createOriginGuard({ allowedHosts: settings.allowedHosts, allowedOrigins: settings.allowedOrigins }),
      authenticator: authentication.authenticator,
      authGuidance: authentication.guidance,
      auditor,
      floodGuard,
      peerOf,
      policy,
      sealer: new RequestStateSealer(() => store.signingKeys.list(), store.spentRequestStates),
      inputTtlMs: settings.inputTtlMs,
    });
    const front = mcp;
    authentication.onCredentialsChanged(() => {
      front.closeUnauthorizedStreams();
      // The console's live views too: a revoked admin token sees no call after the revocation.
      callStreams.recheck();
    });
    const jobsApi = createJobsApi({
      service: jobs,
      authenticator: authentication.authenticator,
      authGuidance: authentication.guidance,
      auditor,
      floodGuard,
      peerOf,
      maxBodyBytes: settings.maxBodyBytes,
      bodyTimeoutMs: settings.bodyTimeoutMs,
      jsonBudget: settings.jsonBudget,
      logger,
    });
    // Jobs requests run in their W3C trace context, like /mcp (the front does its own).
    const jobsRoute = (request: Request, path: string) => handleTraced(request, () => jobsApi(request, path));
    // The admin API: the CLI's services over HTTP, for tokens whose roles grant admin:read / admin:write.
    const adminApi = createAdminApi({
      authenticator: authentication.authenticator,
      authGuidance: authentication.guidance,
      floodGuard,
      peerOf,
      policy,
      // Admin changes are audited on the store's chain as they are (not counted as calls in the metrics).
      auditor: recorder,
      services: {
        store,
        auth: settings.auth,
        probe: { env, logger: logger.child({ component: "admin" }), clientVersion: version },
        backendStatus: new LiveBackendStatus({
          registry,
          board: backendBoard,
          holdings: (backend) => pool.holdings(backend),
          pinOf: (backend, tool) => pins.pinStatus(backend, "tool", tool),
        }),
        jobs,
        policy,
        calls: { streams: callStreams, stats: callStats },
      },
      maxBodyBytes: settings.maxBodyBytes,
      bodyTimeoutMs: settings.bodyTimeoutMs,
      jsonBudget: settings.jsonBudget,
      logger,
    });
    listener = listen(
      createGatewayApp({
        store,
        logger,
        version,
        mcp,
        metrics,
        jobs: jobsRoute,
        admin: (request, path) => handleTraced(request, () => adminApi(request, path)),
        wellKnown: authentication.wellKnown,
        console: settings.console,
        ...(storeAuditor && { audit: storeAuditor }),
      }),
      { host: settings.host, port: settings.port, logger },
    );
    workers.start();
    // What `mcpgw sessions list` reads: this gateway's sessions, published to the database.
    sessionPublisher = new SessionPublisher({
      repository: store.sessionSnapshots,
      instance: {
        instance: `${settings.audit.instance ?? instanceFromHost(hostname())}.${process.pid}.${crypto.randomUUID().slice(0, 8)}`,
        host: hostname(),
        pid: process.pid,
        startedAt: Date.now(),
      },
      sessions: () => front.sessionViews(),
      intervalMs: settings.sessionSnapshotIntervalMs,
      logger,
    });
    // Not awaited: start-up does not wait for the first snapshot (failures are logged and retried).
    void sessionPublisher.start();
  } catch (err) {
    await sessionPublisher?.stop();
    await workers?.stop(0);
    watcher.stop();
    pins.stop();
    authentication?.stop();
    await storeAuditor?.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    url: listener.url,
    store,
    shutdown() {
      stopping ??= (async () => {
        const deadline = Date.now() + settings.shutdownTimeoutMs;
        const draining = listener.stop(settings.shutdownTimeoutMs, () => pool.cancelInFlight(shuttingDown(settings.shutdownTimeoutMs)));
        mcp?.closeStandaloneStreams();
        callStreams.closeAll();
        await draining;
        await mcp?.closeAll();
        // Running jobs get what is left of the drain bound; then idempotent ones are requeued, others fail as interrupted.
        await workers?.stop(Math.max(0, deadline - Date.now()));
        await jobBackends.closeAll();
        await pool.closeAll();
        await sessionPublisher?.stop();
        // After the sessions: their last outcomes (and the last flood summary) are committed before the chain is ended.
        await floodGuard?.flush();
        await storeAuditor?.close();
        watcher.stop();
        pins.stop();
        authentication?.stop();
        await store.close();
      })();
      return stopping;
    },
  };
}
