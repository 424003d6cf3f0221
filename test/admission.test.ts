import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { AuditContext } from "../src/audit/auditor.ts";
import { StoreAuditor } from "../src/audit/store-auditor.ts";
import type { Principal } from "../src/auth/principal.ts";
import { AUDIT_DEFAULTS } from "../src/config/audit-settings.ts";
import { LeasingRateLimiter } from "../src/limits/rate-limiter.ts";
import { createLogger } from "../src/log/logger.ts";
import { type Admission, type AdmissionDeps, admit } from "../src/pipeline/admission.ts";
import { authorizeCall } from "../src/pipeline/authorize.ts";
import { Refusal } from "../src/pipeline/refusal.ts";
import type { CallTarget } from "../src/pipeline/route.ts";
import { parsePermission } from "../src/policy/permission.ts";
import { PolicyEngine } from "../src/policy/policy-engine.ts";
import { ChangeWatcher } from "../src/store/change-watcher.ts";
import { type StoreFixture, sqliteStoreFixture } from "./helpers/store-fixtures.ts";

// The one admission function on real parts: SQLite store, policy engine, rate limiter, store auditor.
const logger = createLogger({ level: "silent" });
const alice: Principal = { subject: "alice", roles: [], anonymous: false };
let fixture: StoreFixture;
let deps: AdmissionDeps;
let watcher: ChangeWatcher;
let auditor: StoreAuditor;

beforeAll(async () => {
  fixture = await sqliteStoreFixture("admission");
  const { store } = fixture;
  await store.migrate();
  const rule = (effect: "allow" | "deny", pattern: string) => ({ effect, permission: parsePermission(pattern) });
  await store.roles.create({ name: "dev", rules: [rule("allow", "work/*"), rule("deny", "work/secret")] });
  await store.roles.grant("dev", "alice");
  // One call an hour for alice: the second admitted call is refused.
  await store.limits.add({
    id: "lim-alice",
    scope: "subject",
    scopeValue: "alice",
    toolPattern: "work/*",
    count: 1,
    periodMs: 3_600_000,
    burst: 1,
    createdAt: Date.now(),
  });
  watcher = new ChangeWatcher(store, logger);
  const policy = new PolicyEngine(store, logger, watcher);
  const limiter = new LeasingRateLimiter(store.limits);
  watcher.on("limits", async () => limiter.setRules(await store.limits.list()));
  await watcher.start();
  auditor = await StoreAuditor.start({ repository: store.audit, logger, settings: AUDIT_DEFAULTS });
  deps = { auditor, policy, limiter };
});

afterAll(async () => {
  watcher?.stop();
  await auditor?.close();
  await fixture?.cleanup();
});

/** A tools/call of `tool` on backend "backend", as an entry point describes it. */
function call(id: string, backend: string, tool: string, extra: Partial<Admission<CallTarget>> = {}): Admission<CallTarget> {
  return {
    principal: alice,
    method: "tools/call",
    route: () => ({ backend, kind: "tool", target: tool }),
    authorize: (roles, target) => authorizeCall(deps.policy.current, alice, roles, { kind: "tool", backend: target.backend!, name: target.target! }, {}),
    auditContext: (roles): AuditContext => ({ requestId: id, subject: alice.subject, roles, method: "tools/call", backend, target: tool }),
    audited: true,
    ...extra,
  };
}

async function recordOf(requestId: string) {
  const rows = await fixture.store.audit.list({ filter: { subject: "alice" }, limit: 100 });
  return rows.filter((row) => row.requestId === requestId);
}

describe("admit: route → authorize → limit → write-ahead audit", () => {
  test("a denied call is audited as denied and spends no quota; the allowed call after it is admitted with its record committed", async () => {
    await expect(admit(deps, call("r-denied", "work", "secret"))).rejects.toMatchObject({ status: "denied" });
    expect(await recordOf("r-denied")).toMatchObject([{ status: "denied", decision: "denied" }]);

    const admitted = await admit(deps, call("r-ok", "work", "build"));
    expect(admitted.roles).toEqual(["dev"]);
    expect(admitted.authorization.rule).toBeDefined();
    // Write-ahead: the record is in the store before the caller forwards anything.
    expect(await recordOf("r-ok")).toMatchObject([{ status: "pending" }]);
    admitted.entry!.finish({ status: "ok" });
  });

  test("past the limit a call is refused as rate limited, audited, and never reaches its last check", async () => {
    let checked = false;
    const refused = admit(
      deps,
      call("r-limited", "work", "build", {
        beforeAudit: async () => {
          checked = true;
        },
      }),
    );
    await expect(refused).rejects.toMatchObject({ status: "rate_limited" });
    expect(checked).toBe(false);
    expect(await recordOf("r-limited")).toMatchObject([{ status: "rate_limited", rule: "lim-alice" }]);
  });

  test("a routing error is audited only as the entry point says: a REST job audits every one, the MCP pipeline refusals and invalid params", async () => {
    const unreachable = () => {
      throw new Error("backend cannot be asked");
    };
    await expect(admit(deps, call("r-route-mcp", "work", "build", { route: unreachable }))).rejects.toThrow("backend cannot be asked");
    expect(await recordOf("r-route-mcp")).toEqual([]);
    const everything = { route: unreachable, refusalOutcome: () => ({ status: "error" as const, errorMessage: "backend cannot be asked" }) };
    await expect(admit(deps, call("r-route-job", "work", "build", everything))).rejects.toThrow();
    expect(await recordOf("r-route-job")).toMatchObject([{ status: "error", errorMessage: "backend cannot be asked" }]);
  });

  test("an unaudited method gets no record, and a refusal from the route stage is one", async () => {
    const denied = new Refusal("invalid", -32602, "no such tool");
    await expect(
      admit(
        deps,
        call("r-invalid", "work", "build", {
          route: () => {
            throw denied;
          },
        }),
      ),
    ).rejects.toBe(denied);
    expect(await recordOf("r-invalid")).toMatchObject([{ status: "invalid" }]);
    const listed = await admit(deps, { ...call("r-list", "work", "build"), method: "tools/list", audited: false, authorize: () => ({}) });
    expect(listed.entry).toBeUndefined();
    expect(await recordOf("r-list")).toEqual([]);
  });
});
