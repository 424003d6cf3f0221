import { expect, test } from "vitest";
import type { BackendSpec } from "../src/backends/backend-spec.ts";
import type { Change, GatewayState } from "../src/declarative/gateway-state.ts";
import { McpgwError } from "../src/errors.ts";
import type { LimitRule } from "../src/limits/limit-rule.ts";
import { parsePermission } from "../src/policy/permission.ts";
import type { RoleDefinition } from "../src/policy/policy.ts";
import type { Store } from "../src/store/store.ts";

const T0 = 1_700_000_000_000;

function backend(name: string, overrides: Partial<BackendSpec> = {}): BackendSpec {
  return {
    name,
    transport: "stdio",
    command: ["node", "server.js"],
    env: { TOKEN: "${TOKEN}" },
    headers: {},
    timeoutMs: 30_000,
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

function limit(id: string, overrides: Partial<LimitRule> = {}): LimitRule {
  return { id, scope: "subject", scopeValue: "alice", count: 10, periodMs: 60_000, burst: 10, createdAt: T0, ...overrides };
}

function role(name: string, patterns: string[], description?: string): RoleDefinition {
  return {
    name,
    ...(description !== undefined && { description }),
    rules: patterns.map((text) => ({ effect: text.startsWith("!") ? "deny" : "allow", permission: parsePermission(text.replace(/^!/, "")) })),
  };
}

/** Objects of a snapshot whose names start with `prefix`: the store is shared with the other contract cases. */
function only(state: GatewayState, prefix: string): GatewayState {
  return {
    roles: state.roles.filter((r) => r.name.startsWith(prefix)),
    bindings: state.bindings.filter((b) => b.role.startsWith(prefix)),
    backends: state.backends.filter((b) => b.name.startsWith(prefix)),
    limits: state.limits.filter((l) => l.id.startsWith(prefix)),
  };
}

/** The declarative repository: one snapshot and one all-or-nothing apply across roles, grants, backends and limits. */
export function declarativeRepositoryContract(getStore: () => Store | undefined, openPeer: () => Store): void {
  test("declarative snapshot holds roles (rules in order), grants, backends and limits as their repositories store them", async (context) => {
    const store = getStore();
    if (!store) return context.skip();
    const rules = role("snap-dev", ["github/*", '!fs/write[path^="/etc/"]', "resource:docs/file:///srv/*"], "developers");
    await store.roles.create(rules);
    await store.roles.grant("snap-dev", "bob");
    await store.roles.grant("snap-dev", "alice");
    await store.backends.add(backend("snap-fs", { limits: { maxConcurrency: 3 } }));
    await store.limits.add(limit("snap-1"));

    const snapshot = only(await store.declarative.snapshot(), "snap-");
    expect(snapshot.roles).toEqual([rules]);
    expect(snapshot.bindings).toEqual([
      { role: "snap-dev", subject: "alice" },
      { role: "snap-dev", subject: "bob" },
    ]);
    // With the pinning modes (the defaults: none were set).
    expect(snapshot.backends).toEqual([{ ...(await store.backends.get("snap-fs")), pinning: { pinMode: "tofu", driftMode: "block", suspicious: "flag" } }]);
    expect(snapshot.limits).toEqual([limit("snap-1")]);
  });

  test("declarative apply creates, updates and deletes every kind in one transaction; the plan sees the state it is applied to", async (context) => {
    const store = getStore();
    if (!store) return context.skip();
    await store.roles.create(role("ap-keep", ["a/*"]));
    await store.roles.grant("ap-keep", "alice");
    await store.roles.create(role("ap-drop", ["*"]));
    await store.roles.grant("ap-drop", "bob");
    await store.backends.add(backend("ap-b1"));
    await store.backends.add(backend("ap-b3"));
    await store.limits.add(limit("ap-l1"));
    await store.limits.add(limit("ap-l3"));
    const createdAt = (await store.roles.get("ap-keep"))!.createdAt;
    const peer = openPeer();
    try {
      const before = await peer.changes.versions();
      const now = Date.now();
      const updatedRole = role("ap-keep", ["b/*", "!b/delete_*"], "now with b");
      const applied = await store.declarative.apply((current) => {
        const mine = only(current, "ap-");
        expect(mine.roles.map((r) => r.name)).toEqual(["ap-drop", "ap-keep"]);
        const old = (name: string) => mine.backends.find((b) => b.name === name)!;
        const changes: Change[] = [
          { kind: "role", action: "update", name: "ap-keep", before: mine.roles[1]!, after: updatedRole, fields: ["description", "permissions"] },
          { kind: "role", action: "create", name: "ap-new", after: role("ap-new", ["c/*"]) },
          { kind: "role", action: "delete", name: "ap-drop", before: mine.roles[0]! },
          { kind: "binding", action: "create", name: "ap-new → carol", after: { role: "ap-new", subject: "carol" } },
          { kind: "binding", action: "delete", name: "ap-drop → bob", before: { role: "ap-drop", subject: "bob" } },
          {
            kind: "backend",
            action: "update",
            name: "ap-b1",
            before: old("ap-b1"),
            after: { ...old("ap-b1"), timeoutMs: 5_000, updatedAt: now },
            fields: ["timeout"],
          },
          { kind: "backend", action: "create", name: "ap-b2", after: backend("ap-b2", { createdAt: now, updatedAt: now }) },
          { kind: "backend", action: "delete", name: "ap-b3", before: old("ap-b3") },
          { kind: "limit", action: "update", name: "ap-l1", before: limit("ap-l1"), after: limit("ap-l1", { count: 20, burst: 5 }), fields: ["rate", "burst"] },
          { kind: "limit", action: "create", name: "ap-l2", after: limit("ap-l2", { scope: "global", scopeValue: undefined }) },
          { kind: "limit", action: "delete", name: "ap-l3", before: limit("ap-l3") },
        ];
        return changes;
      });
      expect(applied).toHaveLength(11);

      const kept = await peer.roles.get("ap-keep");
      expect(kept).toMatchObject({ ...updatedRole, subjects: ["alice"], createdAt });
      expect(await peer.roles.get("ap-new")).toMatchObject({ subjects: ["carol"] });
      expect(await peer.roles.get("ap-drop")).toBeUndefined();
      expect((await peer.roles.snapshot()).bindings.filter((b) => b.subject === "bob" && b.role.startsWith("ap-"))).toEqual([]);
      expect(await peer.backends.get("ap-b1")).toMatchObject({ timeoutMs: 5_000, createdAt: T0, updatedAt: now });
      expect(await peer.backends.get("ap-b2")).toBeDefined();
      expect(await peer.backends.get("ap-b3")).toBeUndefined();
      const limits = (await peer.limits.list()).filter((rule) => rule.id.startsWith("ap-"));
      expect(limits.map((rule) => [rule.id, rule.count, rule.burst])).toEqual([
        ["ap-l1", 20, 5],
        ["ap-l2", 10, 10],
      ]);

      const after = await peer.changes.versions();
      for (const topic of ["policy", "backends", "limits"] as const) expect(after[topic]).toBeGreaterThan(before[topic]);
      expect([after.tokens, after.keys]).toEqual([before.tokens, before.keys]);
    } finally {
      await peer.close();
    }
  });

  test("declarative apply sets a backend's pinning modes, and an update keeps its pins (the backend is updated in place)", async (context) => {
    const store = getStore();
    if (!store) return context.skip();
    await store.backends.add(backend("pinap-b"));
    await store.pins.setPolicy("pinap-b", { driftMode: "warn" }, T0);
    await store.pins.observe("pinap-b", "tool", [{ name: "read", hash: "h1", definition: { name: "read" }, findings: [] }], true, T0);
    const old = only(await store.declarative.snapshot(), "pinap-").backends[0]!;
    expect(old.pinning).toEqual({ pinMode: "tofu", driftMode: "warn", suspicious: "flag" });
    const before = await store.changes.versions();
    const now = Date.now();
    await store.declarative.apply(() => [
      {
        kind: "backend",
        action: "update",
        name: "pinap-b",
        before: old,
        after: { ...old, timeoutMs: 5_000, updatedAt: now, pinning: { driftMode: "block", suspicious: "block" } },
        fields: ["timeout", "pinning.driftMode", "pinning.suspicious"],
      },
      {
        kind: "backend",
        action: "create",
        name: "pinap-new",
        after: { ...backend("pinap-new", { createdAt: now, updatedAt: now }), pinning: { pinMode: "explicit" } },
      },
    ]);
    expect(await store.backends.get("pinap-b")).toMatchObject({ timeoutMs: 5_000, createdAt: T0 });
    expect(await store.pins.policy("pinap-b")).toMatchObject({ pinMode: "tofu", driftMode: "block", suspicious: "block", baselines: ["tool"] });
    expect((await store.pins.list("pinap-b")).map((record) => [record.name, record.status, record.pinnedHash])).toEqual([["read", "pinned", "h1"]]);
    expect(await store.pins.policy("pinap-new")).toMatchObject({ pinMode: "explicit", driftMode: "block", suspicious: "flag" });
    const after = await store.changes.versions();
    expect(after.pins).toBeGreaterThan(before.pins);
    // Only the modes changing: the backend's row (and so its connections) is left alone.
    const unchanged = await store.backends.get("pinap-b");
    const current = only(await store.declarative.snapshot(), "pinap-").backends[0]!;
    await store.declarative.apply(() => [
      {
        kind: "backend",
        action: "update",
        name: "pinap-b",
        before: current,
        after: { ...current, pinning: { driftMode: "warn" } },
        fields: ["pinning.driftMode"],
      },
    ]);
    expect(await store.backends.get("pinap-b")).toEqual(unchanged);
    expect((await store.pins.policy("pinap-b")).driftMode).toBe("warn");
  });

  test("declarative apply: a change the database refuses part-way leaves everything as it was, versions included", async (context) => {
    const store = getStore();
    if (!store) return context.skip();
    await store.limits.add(limit("fail-taken"));
    const snapshot = await store.declarative.snapshot();
    const versions = await store.changes.versions();
    const failing = store.declarative.apply(() => [
      { kind: "role", action: "create", name: "fail-role", after: role("fail-role", ["*"]) },
      { kind: "backend", action: "create", name: "fail-backend", after: backend("fail-backend") },
      { kind: "binding", action: "create", name: "fail-role → x", after: { role: "fail-role", subject: "x" } },
      // Written last (limits come after the others), and refused by the primary key.
      { kind: "limit", action: "create", name: "fail-taken", after: limit("fail-taken", { count: 99 }) },
    ]);
    await expect(failing).rejects.toBeInstanceOf(McpgwError);
    await expect(failing).rejects.toThrow(/nothing was applied/);
    expect(await store.declarative.snapshot()).toEqual(snapshot);
    expect(await store.changes.versions()).toEqual(versions);
  });

  test("declarative apply of an empty plan writes nothing and moves no version", async (context) => {
    const store = getStore();
    if (!store) return context.skip();
    const versions = await store.changes.versions();
    expect(await store.declarative.apply(() => [])).toEqual([]);
    expect(await store.changes.versions()).toEqual(versions);
  });

  test("declarative applies from two connections run one after the other: the second plans from the first's result", async (context) => {
    const store = getStore();
    if (!store) return context.skip();
    const peer = openPeer();
    try {
      await peer.ping();
      const createOnce = (current: GatewayState): Change[] =>
        current.backends.some((b) => b.name === "race-once") ? [] : [{ kind: "backend", action: "create", name: "race-once", after: backend("race-once") }];
      let entered!: () => void;
      let release!: () => void;
      const inFirstPlan = new Promise<void>((resolve) => (entered = resolve));
      const released = new Promise<void>((resolve) => (release = resolve));
      // The first apply holds its transaction open while the second starts: the second must wait
      // for it and then see race-once, rather than read the old state and collide on the name.
      const first = store.declarative.apply(async (current) => {
        entered();
        await released;
        return createOnce(current);
      });
      await inFirstPlan;
      const second = peer.declarative.apply(createOnce);
      await new Promise((resolve) => setTimeout(resolve, 300));
      release();
      const results = await Promise.all([first, second]);
      expect(results.map((changes) => changes.length)).toEqual([1, 0]);
    } finally {
      await peer.close();
    }
  });
}
