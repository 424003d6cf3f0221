import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { BackendSpec } from "../src/backends/backend-spec.ts";
import { ConflictError, NotFoundError } from "../src/errors.ts";
import { parsePermission } from "../src/policy/permission.ts";
import { loadMigrations } from "../src/store/migrations.ts";
import type { Store } from "../src/store/store.ts";

export interface StoreFixture {
  store: Store;
  /** A second store on the same database, as another process (or replica) would have. */
  openPeer(): Store;
  cleanup(): Promise<void>;
}

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
      expect(await store.migrationStatus()).toEqual({ applied: expected, pending: [] });
    });

    test("ping answers and location hides nothing it should not", async (context) => {
      if (!fixture) return context.skip();
      await expect(store.ping()).resolves.toBeUndefined();
      expect(store.location).toMatch(store.dialect === "sqlite" ? /^sqlite:/ : /^postgres/);
    });

    test("backends round-trip every field, in name order", async (context) => {
      if (!fixture) return context.skip();
      const stdio = backend("zeta");
      const http = backend("alpha", { transport: "streamable-http", url: "https://mcp.example.com/mcp", headers: { Authorization: "Bearer ${API_KEY}" }, env: {} });
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
  });
}
