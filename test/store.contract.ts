import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { BackendSpec } from "../src/backends/backend-spec.ts";
import { ConflictError, NotFoundError } from "../src/errors.ts";
import { activeKey } from "../src/auth/signing-key.ts";
import { generateSigningKey } from "../src/auth/signing-keys.ts";
import type { TokenRecord } from "../src/auth/token-record.ts";
import type { LimitRule } from "../src/limits/limit-rule.ts";
import { parsePermission } from "../src/policy/permission.ts";
import { loadMigrations } from "../src/store/migrations.ts";
import type { Store } from "../src/store/store.ts";
import type { StoreFixture } from "./helpers/store-fixtures.ts";
import { auditRepositoryContract } from "./audit-repository.contract.ts";
import { jobRepositoryContract } from "./job-repository.contract.ts";
import { declarativeRepositoryContract } from "./declarative-repository.contract.ts";
import { sessionSnapshotRepositoryContract } from "./session-snapshot-repository.contract.ts";
import { pinRepositoryContract } from "./pin-repository.contract.ts";
import { subjectSecretRepositoryContract } from "./subject-secret-repository.contract.ts";

function backend(name: string, overrides: Partial<BackendSpec> = {}): BackendSpec {
  return {
    name,
    transport: "stdio",
    command: ["node", "server.js", "--flag"],
    env: { TOKEN: "${GITHUB_TOKEN}" },
    headers: {},
    timeoutMs: 30_000,
    createdAt: 1_700_000_000_000,
    updatedAt: 1_700_000_000_000,
    ...overrides,
  };
}

/** The Store contract: every driver passes exactly this suite. */
export function runStoreContract(name: string, setup: () => Promise<StoreFixture | undefined>): void {
  describe(`Store contract: ${name}`, () => {
    let fixture: StoreFixture | undefined;
    let store: Store;

    beforeAll(async () => {
      fixture = await setup();
      if (fixture) store = fixture.store;
    });
    afterAll(async () => fixture?.cleanup());

    test("migrate applies every migration once, then reports nothing to do", async (context) => {
      if (!fixture) return context.skip();
      const expected = loadMigrations(store.dialect).map((m) => m.name);
      expect((await store.migrationStatus()).pending).toEqual(expected);
      expect(await store.migrate()).toEqual(expected);
      expect(await store.migrate()).toEqual([]);
      expect(await store.migrationStatus()).toEqual({ applied: expected, pending: [], unknown: [] });
    });

    test("ping answers and location hides nothing it should not", async (context) => {
      if (!fixture) return context.skip();
      await expect(store.ping()).resolves.toBeUndefined();
      expect(store.location).toMatch(store.dialect === "sqlite" ? /^sqlite:/ : /^postgres/);
    });

    test("backends round-trip every field, in name order", async (context) => {
      if (!fixture) return context.skip();
      const stdio = backend("zeta");
      const http = backend("alpha", {
        transport: "streamable-http",
        url: "https://mcp.example.com/mcp",
        headers: { Authorization: "Bearer ${API_KEY}" },
        env: {},
        auth: { mode: "gateway-assertion", audience: "https://mcp.example.com", header: "X-Caller" },
      });
      delete (http as Partial<BackendSpec>).command;
      await store.backends.add(stdio);
      await store.backends.add(http);
      expect(await store.backends.get("zeta")).toEqual(stdio);
      expect(await store.backends.get("alpha")).toEqual(http);
      expect((await store.backends.list()).map((b) => b.name)).toEqual(["alpha", "zeta"]);
      expect(await store.backends.get("missing")).toBeUndefined();
    });

    test("adding a taken name is a conflict and changes nothing", async (context) => {
      if (!fixture) return context.skip();
      await store.backends.add(backend("dup"));
      await expect(store.backends.add(backend("dup", { timeoutMs: 5 }))).rejects.toBeInstanceOf(ConflictError);
      expect((await store.backends.get("dup"))?.timeoutMs).toBe(30_000);
    });

    test("removing an unknown backend is NotFound; removing a known one deletes it", async (context) => {
      if (!fixture) return context.skip();
      await expect(store.backends.remove("nobody")).rejects.toBeInstanceOf(NotFoundError);
      await store.backends.add(backend("gone"));
      await store.backends.remove("gone");
      expect(await store.backends.get("gone")).toBeUndefined();
    });

    test("every backend write moves the backends version, seen by a second connection", async (context) => {
      if (!fixture) return context.skip();
      const peer = fixture.openPeer();
      try {
        const before = await peer.changes.versions();
        await store.backends.add(backend("watched"));
        await store.backends.remove("watched");
        const after = await peer.changes.versions();
        expect(after.backends).toBe(before.backends + 2);
        expect(after.policy).toBe(before.policy);
      } finally {
        await peer.close();
      }
    });

    test("updating a backend replaces its settings in place, keeps createdAt, moves updatedAt and the backends version", async (context) => {
      if (!fixture) return context.skip();
      const peer = fixture.openPeer();
      try {
        await store.backends.add(backend("edited"));
        const before = await peer.changes.versions();
        const http = backend("edited", {
          transport: "streamable-http",
          url: "https://mcp.example.com/mcp",
          headers: { "X-Team": "a" },
          env: {},
          timeoutMs: 5_000,
          limits: { maxConcurrency: 2 },
          createdAt: 1,
          updatedAt: 1_700_000_000_000,
        });
        delete (http as Partial<BackendSpec>).command;
        const updated = await store.backends.update(http);
        // Same millisecond as the add: updatedAt still moves, or running gateways would not reconnect.
        expect(updated.updatedAt).toBeGreaterThan(1_700_000_000_000);
        expect(await peer.backends.get("edited")).toEqual({ ...http, createdAt: 1_700_000_000_000, updatedAt: updated.updatedAt });
        expect((await peer.changes.versions()).backends).toBe(before.backends + 1);

        await expect(store.backends.update(backend("never-added"))).rejects.toBeInstanceOf(NotFoundError);
        // Read, then someone else writes, then this write: refused rather than silently undoing theirs.
        await expect(store.backends.update(backend("edited"), updated.updatedAt - 1)).rejects.toBeInstanceOf(ConflictError);
        expect((await store.backends.get("edited"))?.transport).toBe("streamable-http");
        await store.backends.update(backend("edited", { updatedAt: Date.now() }), updated.updatedAt);
        expect((await store.backends.get("edited"))?.command).toEqual(["node", "server.js", "--flag"]);
        expect((await peer.changes.versions()).backends).toBe(before.backends + 2);
      } finally {
        await peer.close();
      }
    });

    test("updating a role adds and removes rules and changes the description in place, grants kept", async (context) => {
      if (!fixture) return context.skip();
      const allow = (text: string) => ({ effect: "allow" as const, permission: parsePermission(text) });
      const deny = (text: string) => ({ effect: "deny" as const, permission: parsePermission(text) });
      await store.roles.create({
        name: "editable",
        description: "first",
        rules: [allow("github/*"), deny("github/delete_*"), allow('fs/read[path^="/srv/"]')],
      });
      await store.roles.grant("editable", "alice");
      const before = (await store.changes.versions()).policy;

      const updated = await store.roles.update("editable", {
        removeRules: ['fs/read[path^="/srv/"]'],
        addRules: [allow("jira/*"), allow("github/*"), deny("jira/admin_*")],
        description: "second",
      });
      expect(updated).toMatchObject({
        name: "editable",
        description: "second",
        subjects: ["alice"],
        rules: [allow("github/*"), deny("github/delete_*"), allow("jira/*"), deny("jira/admin_*")],
      });
      expect(await store.roles.get("editable")).toEqual(updated);
      expect((await store.changes.versions()).policy).toBe(before + 1);

      // Allow and deny rules of one pattern both go; a pattern the role does not have changes nothing.
      await store.roles.update("editable", { addRules: [deny("jira/*")] });
      expect((await store.roles.update("editable", { removeRules: ["jira/*"], description: "" })).rules).toEqual([
        allow("github/*"),
        deny("github/delete_*"),
        deny("jira/admin_*"),
      ]);
      expect((await store.roles.get("editable"))?.description).toBeUndefined();
      await expect(store.roles.update("editable", { removeRules: ["github/*", "nothing/like_this"] })).rejects.toBeInstanceOf(NotFoundError);
      expect((await store.roles.get("editable"))?.rules).toHaveLength(3);
      await expect(store.roles.update("no-such-role", { description: "x" })).rejects.toBeInstanceOf(NotFoundError);
      expect((await store.changes.versions()).policy).toBe(before + 3);
      await store.roles.delete("editable");
    });

    test("limit set replaces the rule of the same scope (whom, tool, period), keeping its id and counters; update changes rate and burst", async (context) => {
      if (!fixture) return context.skip();
      const rule = (id: string, overrides: Partial<LimitRule>): LimitRule => ({
        id,
        scope: "subject",
        scopeValue: "carol",
        count: 60,
        periodMs: 60_000,
        burst: 60,
        createdAt: Date.now(),
        ...overrides,
      });
      const versions = async () => (await store.changes.versions()).limits;
      const start = await versions();
      const first = await store.limits.set(rule("lim_first", {}));
      expect(first).toEqual({ rule: rule("lim_first", { createdAt: first.rule.createdAt }), replaced: [] });
      await store.limits.lease("lim_first:carol", { intervalMs: 1_000, burst: 60 }, 10, Date.now());
      const counters = async () => fixture!.raw<{ key: string }>("SELECT key FROM rate_limit_counters WHERE key LIKE 'lim_first%'");
      expect(await counters()).toHaveLength(1);

      // Same subject, tool and period: replaced in place. A quota (per day) or another tool is a rule of its own.
      const second = await store.limits.set(rule("lim_second", { count: 100, burst: 10 }));
      expect(second.rule).toMatchObject({ id: "lim_first", count: 100, burst: 10, createdAt: first.rule.createdAt });
      expect(second.replaced.map((r) => [r.id, r.count])).toEqual([["lim_first", 60]]);
      expect(await counters()).toHaveLength(1);
      expect((await store.limits.set(rule("lim_quota", { count: 500, periodMs: 86_400_000, burst: 500 }))).replaced).toEqual([]);
      expect((await store.limits.set(rule("lim_tool", { toolPattern: "github/*" }))).replaced).toEqual([]);
      expect((await store.limits.set(rule("lim_role", { scope: "role", scopeValue: "carol" }))).replaced).toEqual([]);
      const mine = async () =>
        (await store.limits.list())
          .filter((r) => r.scopeValue === "carol")
          .map((r) => r.id)
          .sort();
      expect(await mine()).toEqual(["lim_first", "lim_quota", "lim_role", "lim_tool"]);

      // Duplicates written before `set` replaced (or added by hand) collapse into the oldest.
      await store.limits.add(rule("lim_dup", { count: 7, burst: 7, createdAt: Date.now() + 1 }));
      expect((await store.limits.set(rule("lim_third", { count: 30, burst: 30 }))).replaced.map((r) => r.id)).toEqual(["lim_first", "lim_dup"]);
      expect(await mine()).toEqual(["lim_first", "lim_quota", "lim_role", "lim_tool"]);

      const updated = await store.limits.update("lim_first", { count: 20, periodMs: 1_000, burst: 5 });
      expect(updated).toMatchObject({ id: "lim_first", scope: "subject", scopeValue: "carol", count: 20, periodMs: 1_000, burst: 5 });
      expect((await store.limits.list()).find((r) => r.id === "lim_first")).toEqual(updated);
      await expect(store.limits.update("lim_first", { count: 1, periodMs: 86_400_000, burst: 1 })).rejects.toBeInstanceOf(ConflictError);
      await expect(store.limits.update("lim_nobody", { count: 1, periodMs: 1_000, burst: 1 })).rejects.toBeInstanceOf(NotFoundError);
      expect(await versions()).toBe(start + 8);
      for (const id of await mine()) await store.limits.remove(id);
    });

    test("spentCounters reads the buckets a lease spent and that have not refilled, and no others", async (context) => {
      if (!fixture) return context.skip();
      const now = Date.now();
      const rate = { intervalMs: 60_000, burst: 10 };
      await store.limits.lease("lim_spent:dora", rate, 3, now);
      await store.limits.lease("lim_spent", rate, 1, now);
      // A bucket spent long ago has refilled: its TAT is in the past at `now`.
      await store.limits.lease("lim_spent:old", rate, 1, now - 3_600_000);
      const mine = (await store.limits.spentCounters(now)).filter((counter) => counter.key.startsWith("lim_spent"));
      expect(mine).toEqual([
        { key: "lim_spent", tat: now + 60_000 },
        { key: "lim_spent:dora", tat: now + 180_000 },
      ]);
      expect((await store.limits.spentCounters(now + 60_000)).filter((counter) => counter.key.startsWith("lim_spent"))).toEqual([
        { key: "lim_spent:dora", tat: now + 180_000 },
      ]);
    });

    test("roles round-trip their rules (with conditions), grants, and deletion", async (context) => {
      if (!fixture) return context.skip();
      const rules = [
        { effect: "allow" as const, permission: parsePermission("github/*") },
        { effect: "deny" as const, permission: parsePermission("github/delete_*") },
        { effect: "allow" as const, permission: parsePermission('fs/read_file[path^="/srv/data/"]') },
        { effect: "allow" as const, permission: parsePermission("resource:docs/file:///srv/*") },
      ];
      await store.roles.create({ name: "dev", description: "developers", rules });
      await expect(store.roles.create({ name: "dev", rules: [] })).rejects.toBeInstanceOf(ConflictError);
      await store.roles.grant("dev", "alice");
      await store.roles.grant("dev", "alice");
      await store.roles.grant("dev", "bob");
      await expect(store.roles.grant("nope", "alice")).rejects.toBeInstanceOf(NotFoundError);
      expect(await store.roles.get("dev")).toMatchObject({ name: "dev", description: "developers", rules, subjects: ["alice", "bob"] });
      await store.roles.revoke("dev", "bob");
      await expect(store.roles.revoke("dev", "bob")).rejects.toBeInstanceOf(NotFoundError);
      expect((await store.roles.snapshot()).bindings).toEqual([{ role: "dev", subject: "alice" }]);
      await store.roles.delete("dev");
      expect(await store.roles.get("dev")).toBeUndefined();
      expect((await store.roles.snapshot()).bindings).toEqual([]);
      await expect(store.roles.delete("dev")).rejects.toBeInstanceOf(NotFoundError);
    });

    test("every role write moves the policy version", async (context) => {
      if (!fixture) return context.skip();
      const before = (await store.changes.versions()).policy;
      await store.roles.create({ name: "versioned", rules: [] });
      await store.roles.grant("versioned", "x");
      await store.roles.revoke("versioned", "x");
      await store.roles.delete("versioned");
      expect((await store.changes.versions()).policy).toBe(before + 4);
    });

    test("signing keys: the first is created once even when both connections race for it", async (context) => {
      if (!fixture) return context.skip();
      const peer = fixture.openPeer();
      try {
        const before = (await store.signingKeys.list()).filter((k) => k.retiredAt === undefined);
        const candidates = await Promise.all(Array.from({ length: 6 }, () => generateSigningKey("EdDSA")));
        const results = await Promise.all(candidates.map((key, i) => (i % 2 ? store : peer).signingKeys.addIfNoneActive(key)));
        expect(new Set(results.map((k) => k.kid)).size).toBe(1);
        const after = (await store.signingKeys.list()).filter((k) => k.retiredAt === undefined);
        expect(after).toHaveLength(Math.max(1, before.length));
      } finally {
        await peer.close();
      }
    });

    test("signing keys round-trip, rotate, and retire (never the active one); every write moves the keys version", async (context) => {
      if (!fixture) return context.skip();
      const es = await generateSigningKey("ES256", 1_700_000_000_000);
      const versions = async () => (await store.changes.versions()).keys;
      const start = await versions();
      await store.signingKeys.add(es);
      expect((await store.signingKeys.list()).find((k) => k.kid === es.kid)).toEqual(es);
      const newer = await generateSigningKey("EdDSA", Date.now() + 60_000);
      await store.signingKeys.add(newer);
      expect(activeKey(await store.signingKeys.list())?.kid).toBe(newer.kid);
      expect(await store.signingKeys.addIfNoneActive(await generateSigningKey("EdDSA"))).toEqual(newer);
      expect(await versions()).toBe(start + 2);

      await expect(store.signingKeys.retire(newer.kid, Date.now())).rejects.toBeInstanceOf(ConflictError);
      await expect(store.signingKeys.retire("no-such-kid", Date.now())).rejects.toBeInstanceOf(NotFoundError);
      expect(await store.signingKeys.retire(es.kid, 1_700_000_100_000)).toBe("retired");
      expect(await store.signingKeys.retire(es.kid, 1_700_000_200_000)).toBe("already-retired");
      expect((await store.signingKeys.list()).find((k) => k.kid === es.kid)?.retiredAt).toBe(1_700_000_100_000);
      expect(await versions()).toBe(start + 3);
      await expect(store.signingKeys.add(es)).rejects.toBeInstanceOf(ConflictError);
    });

    test("tokens round-trip, newest first; revocation is recorded once and moves the tokens version for other connections", async (context) => {
      if (!fixture) return context.skip();
      const peer = fixture.openPeer();
      try {
        const token = (jti: string, issuedAt: number, extra: Partial<TokenRecord> = {}): TokenRecord => ({
          jti,
          subject: "alice",
          roles: ["dev", "ops"],
          issuedAt,
          expiresAt: issuedAt + 3_600_000,
          ...extra,
        });
        const now = Date.now();
        const older = token(`t-${crypto.randomUUID()}`, now - 10_000, { description: "ci runner" });
        const newer = token(`t-${crypto.randomUUID()}`, now - 5_000);
        const expired = token(`t-${crypto.randomUUID()}`, now - 7_200_000);
        await store.tokens.add(older);
        await store.tokens.add(newer);
        await store.tokens.add(expired);
        await expect(store.tokens.add(older)).rejects.toBeInstanceOf(ConflictError);
        expect(await store.tokens.get(older.jti)).toEqual(older);
        expect(await store.tokens.get("missing")).toBeUndefined();
        const listed = (await store.tokens.list()).map((t) => t.jti);
        expect(listed.indexOf(newer.jti)).toBeLessThan(listed.indexOf(older.jti));

        const before = await peer.changes.versions();
        expect(await store.tokens.revoke(older.jti, now)).toBe("revoked");
        expect(await store.tokens.revoke(older.jti, now + 1)).toBe("already-revoked");
        expect(await store.tokens.revoke(expired.jti, now)).toBe("revoked");
        await expect(store.tokens.revoke("no-such-jti", now)).rejects.toBeInstanceOf(NotFoundError);
        const after = await peer.changes.versions();
        expect(after.tokens).toBe(before.tokens + 2);
        expect(after.keys).toBe(before.keys);
        expect((await peer.tokens.get(older.jti))?.revokedAt).toBe(now);

        const revoked = await peer.tokens.revokedJtis(now);
        expect(revoked).toContain(older.jti);
        expect(revoked).not.toContain(expired.jti); // past its expiry: refused as expired anyway
        expect(revoked).not.toContain(newer.jti);
      } finally {
        await peer.close();
      }
    });

    test("revoking every token of a subject revokes the live ones only, once, and moves the tokens version", async (context) => {
      if (!fixture) return context.skip();
      const now = Date.now();
      const token = (jti: string, subject: string, extra: Partial<TokenRecord> = {}): TokenRecord => ({
        jti,
        subject,
        roles: [],
        issuedAt: now - 1_000,
        expiresAt: now + 3_600_000,
        ...extra,
      });
      const live = [token("all-for-a", "dave"), token("all-for-b", "dave")];
      for (const t of [
        ...live,
        token("all-for-expired", "dave", { expiresAt: now - 1 }),
        token("all-for-revoked", "dave", { revokedAt: now - 500 }),
        token("all-for-other", "erin"),
      ])
        await store.tokens.add(t);
      const before = (await store.changes.versions()).tokens;
      expect(await store.tokens.revokeAllFor("dave", now)).toEqual(["all-for-a", "all-for-b"]);
      expect((await store.changes.versions()).tokens).toBe(before + 1);
      expect((await store.tokens.get("all-for-a"))?.revokedAt).toBe(now);
      expect((await store.tokens.get("all-for-revoked"))?.revokedAt).toBe(now - 500);
      expect((await store.tokens.get("all-for-expired"))?.revokedAt).toBeUndefined();
      expect((await store.tokens.get("all-for-other"))?.revokedAt).toBeUndefined();
      expect(await store.tokens.revokeAllFor("dave", now)).toEqual([]);
      expect((await store.changes.versions()).tokens).toBe(before + 1);
    });

    test("concurrent writes from two connections all land", async (context) => {
      if (!fixture) return context.skip();
      const peer = fixture.openPeer();
      try {
        const names = Array.from({ length: 20 }, (_, i) => `c${i}`);
        await Promise.all(names.map((n, i) => (i % 2 ? store : peer).backends.add(backend(n))));
        const listed = (await store.backends.list()).map((b) => b.name);
        for (const n of names) expect(listed).toContain(n);
      } finally {
        await peer.close();
      }
    });

    test("a requestState is spent once, whichever connection presents it, and expired rows are swept", async (context) => {
      if (!fixture) return context.skip();
      const peer = fixture.openPeer();
      try {
        const exp = Date.now() + 60_000;
        // Two replicas present the same state at once: exactly one spend wins.
        const raced = await Promise.all([store.spentRequestStates.spend("rs-race", exp), peer.spentRequestStates.spend("rs-race", exp)]);
        expect(raced.filter(Boolean)).toHaveLength(1);
        expect(await store.spentRequestStates.spend("rs-race", exp)).toBe(false);
        expect(await peer.spentRequestStates.spend("rs-other", exp)).toBe(true);
        // Enough spends to pass a sweep: an expired row goes, so its id could be spent again (it never
        // is: an expired state is refused before it is spent), while live rows stay.
        expect(await store.spentRequestStates.spend("rs-expired", Date.now() - 1)).toBe(true);
        for (let i = 0; i < 256; i++) await store.spentRequestStates.spend(`rs-filler-${i}`, exp);
        expect(await store.spentRequestStates.spend("rs-expired", exp)).toBe(true);
        expect(await store.spentRequestStates.spend("rs-race", exp)).toBe(false);
      } finally {
        await peer.close();
      }
    });

    // After "migrate applies every migration" (tests run in registration order): the audit tables exist then.
    auditRepositoryContract(() => (fixture ? store : undefined));
    jobRepositoryContract(() => (fixture ? store : undefined));
    declarativeRepositoryContract(
      () => (fixture ? store : undefined),
      () => fixture!.openPeer(),
    );
    sessionSnapshotRepositoryContract(() => (fixture ? store : undefined));
    pinRepositoryContract(
      () => (fixture ? store : undefined),
      () => fixture!.openPeer(),
    );
    subjectSecretRepositoryContract(() => (fixture ? store : undefined));
  });
}
