/**
 * Every Auditor runs the one contract (test/auditor.contract.ts): the store auditor on SQLite and
 * PostgreSQL, the observing decorator over it, `none` (MCPGW_AUDIT=off) and the test double the
 * gateway suites use in its place.
 */
import { expect, test } from "vitest";
import type { AuditRow } from "../src/audit/audit-record.ts";
import { AUDIT_DEFAULTS } from "../src/config/audit-settings.ts";
import type { Auditor } from "../src/audit/auditor.ts";
import { NoAuditor } from "../src/audit/no-auditor.ts";
import { StoreAuditor } from "../src/audit/store-auditor.ts";
import { createLogger } from "../src/log/logger.ts";
import { MetricsRegistry } from "../src/observability/metrics.ts";
import { ObservingAuditor } from "../src/observability/observing-auditor.ts";
import { ChainOnFirstRecord } from "../src/operator-calls/operator-gateway.ts";
import { type AuditorUnderTest, type RecordedCall, runAuditorContract } from "./auditor.contract.ts";
import { type AuditStoreSetup, postgresAuditStore, sqliteAuditStore } from "./helpers/audit-stores.ts";
import { CapturingAuditor, capturingLogger } from "./helpers/auth-tokens.ts";
import { SwitchableRepository } from "./helpers/switchable-audit-repository.ts";

const logger = createLogger({ level: "silent" });

function fromRow(row: AuditRow): RecordedCall {
  return {
    kind: row.kind,
    requestId: row.requestId ?? undefined,
    method: row.method,
    subject: row.subject ?? undefined,
    roles: row.roles === null ? undefined : (JSON.parse(row.roles) as string[]),
    sessionId: row.sessionId ?? undefined,
    backend: row.backend ?? undefined,
    target: row.target ?? undefined,
    status: row.status,
    errorCode: row.errorCode ?? undefined,
    errorMessage: row.errorMessage ?? undefined,
    arguments: row.arguments ?? undefined,
  };
}

/**
 * A StoreAuditor on a fresh store, behind a repository that can be made to fail. `wrap` builds
 * the Auditor under test from a function that starts the store auditor (at once, or when it likes).
 */
function storeAuditor(
  setup: AuditStoreSetup,
  wrap?: (start: () => Promise<StoreAuditor>) => Auditor | Promise<Auditor>,
): () => Promise<AuditorUnderTest | undefined> {
  return async () => {
    const fixture = await setup();
    if (!fixture) return undefined;
    const storage = new SwitchableRepository(fixture.store.audit);
    const settings = { ...AUDIT_DEFAULTS, instance: `contract-${crypto.randomUUID().slice(0, 6)}` };
    let started: StoreAuditor | undefined;
    const start = async () => (started = await StoreAuditor.start({ repository: storage.repo, logger, settings, retryMs: 50 }));
    const auditor = wrap ? await wrap(start) : await start();
    return {
      auditor,
      records: async () => (started ? (await fixture.store.audit.beginEvents(started.chain, 0, 100_000)).map(fromRow) : []),
      settled: async () => started?.idle(),
      breakStorage: (down) => {
        storage.down = down;
      },
      async close() {
        await started?.close(1_000);
        await fixture.cleanup();
      },
    };
  };
}

const STORE = { records: true, redacts: true, canFail: true };

runAuditorContract("store (sqlite)", STORE, storeAuditor(sqliteAuditStore));
runAuditorContract("store (postgres)", STORE, storeAuditor(postgresAuditStore));
/** The observing decorator over the store auditor, as the gateway composes them. */
const observing = async (start: () => Promise<StoreAuditor>) => new ObservingAuditor(await start(), logger, new MetricsRegistry());
runAuditorContract("observing over store (sqlite)", STORE, storeAuditor(sqliteAuditStore, observing));
// mcpgw call's auditor: the store auditor, its chain started by the first record.
runAuditorContract(
  "chain on first record (sqlite)",
  STORE,
  storeAuditor(sqliteAuditStore, (start) => new ChainOnFirstRecord(start)),
);

runAuditorContract("none (MCPGW_AUDIT=off)", { records: false, redacts: false, canFail: false }, async () => ({
  auditor: new NoAuditor(),
  records: async () => [],
  settled: async () => undefined,
  close: async () => undefined,
}));

runAuditorContract("CapturingAuditor (test double)", { records: true, redacts: false, canFail: false }, async () => {
  const auditor = new CapturingAuditor();
  const record = (
    kind: RecordedCall["kind"],
    context: CapturingAuditor["calls"][number]["context"],
    outcome: CapturingAuditor["calls"][number]["outcome"],
  ): RecordedCall => ({
    kind,
    requestId: context.requestId,
    method: context.method,
    subject: context.subject,
    roles: context.roles,
    sessionId: context.sessionId,
    backend: context.backend,
    target: context.target,
    status: outcome?.status ?? "pending",
    errorCode: outcome?.errorCode,
    errorMessage: outcome?.errorMessage,
    arguments: context.arguments === undefined ? undefined : JSON.stringify(context.arguments),
  });
  return {
    auditor,
    records: async () => [
      ...auditor.calls.map((call) => record("call", call.context, call.outcome)),
      ...auditor.refusals.map((refusal) => record("refusal", refusal.context, refusal.outcome)),
      ...auditor.events.map((event) => record("event", event.context, event.outcome)),
    ],
    settled: async () => undefined,
    close: async () => undefined,
  };
});

test("ObservingAuditor counts, times and logs a call once, however often it is finished", async () => {
  const { logger: lines, records: logged } = capturingLogger();
  const metrics = new MetricsRegistry();
  const auditor = new ObservingAuditor(new CapturingAuditor(), lines, metrics);
  const entry = await auditor.begin({ method: "tools/call", backend: "lab", target: "echo", requestId: "twice" });
  entry.finish({ status: "ok" });
  entry.finish({ status: "error", errorMessage: "the result filter failed" });
  const text = metrics.render();
  expect(text).toContain('mcpgw_calls_total{backend="lab",method="tools/call",target="echo",status="ok"} 1\n');
  expect(text).not.toContain('status="error"');
  expect(text).toContain('mcpgw_call_duration_seconds_count{backend="lab",method="tools/call"} 1\n');
  expect(logged.filter((line) => line.msg === "call")).toEqual([expect.objectContaining({ request: "twice", status: "ok" })]);
});
