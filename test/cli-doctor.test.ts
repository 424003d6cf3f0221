import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, test } from "vitest";
import { ensureActiveSigningKey } from "../src/auth/signing-keys.ts";
import type { TokenRecord } from "../src/auth/token-record.ts";
import type { CheckResult } from "../src/doctor/check-result.ts";
import { parsePermission } from "../src/policy/permission.ts";
import { REPO_ROOT, runCli } from "./helpers/cli.ts";
import { BUN, backendSpec } from "./helpers/gateway.ts";
import { freePort } from "./helpers/process.ts";
import { BOTH_STORES, type StoreFixture, sqliteStoreFixture } from "./helpers/store-fixtures.ts";
import { tempDir } from "./helpers/temp-dir.ts";

const allow = (pattern: string) => ({ effect: "allow" as const, permission: parsePermission(pattern) });
const LAB = { name: "lab", command: [BUN, join(REPO_ROOT, "test/fixtures/lab-server.ts"), "--stdio"] };
// An empty folder to run in, so no .env of the repository's working directory is read.
const cwd = tempDir("mcpgw-doctor-");
afterAll(() => cwd.remove());

interface Report {
  ok: boolean;
  database?: string;
  checks: CheckResult[];
}

async function doctor(args: string[], env: Record<string, string> = {}): Promise<{ code: number; report: Report; text: string; stderr: string }> {
  const json = await runCli(["doctor", "--json", ...args], { cwd: cwd.path, env });
  const text = await runCli(["doctor", ...args], { cwd: cwd.path, env });
  expect(text.code, text.stderr).toBe(json.code);
  return { code: json.code, report: JSON.parse(json.stdout) as Report, text: text.stdout, stderr: text.stderr };
}

function statuses(report: Report): Record<string, string> {
  return Object.fromEntries(report.checks.map((check) => [check.check, check.status]));
}

function find(report: Report, name: string): CheckResult {
  const check = report.checks.find((candidate) => candidate.check === name);
  if (!check) throw new Error(`no check "${name}" in ${JSON.stringify(report.checks)}`);
  return check;
}

describe.each(BOTH_STORES)("mcpgw doctor (%s)", (_label, setup) => {
  let fixture: StoreFixture | undefined;
  afterEach(async () => {
    await fixture?.cleanup();
    fixture = undefined;
  });

  test("a healthy set-up: every check ok, exit 0", async (context) => {
    fixture = await setup("doctor_ok");
    if (!fixture) return context.skip();
    await fixture.store.migrate();
    await ensureActiveSigningKey(fixture.store, "EdDSA");
    await fixture.store.backends.add(backendSpec(LAB));

    const { code, report, text } = await doctor(["--db", fixture.url]);
    expect(code, text).toBe(0);
    expect(report.ok).toBe(true);
    expect(statuses(report)).toEqual({
      configuration: "ok",
      database: "ok",
      migrations: "ok",
      "signing keys": "ok",
      "backend lab": "ok",
      "role patterns": "ok",
      "token roles": "ok",
      "admin tokens": "ok",
      clock: fixture.label === "sqlite" ? "skipped" : "ok",
    });
    expect(find(report, "backend lab").detail).toMatch(/reachable over stdio: .* 6 tools, initialised in \d+ ms/);
    expect(text).toMatch(/^ {2}ok {7}backend lab +reachable over stdio/m);
    expect(text).toMatch(/^healthy; \d+ of 9 checks ok$/m);
  });

  test("a database never migrated: the missing migrations are named with the fix, and doctor does not migrate", async (context) => {
    fixture = await setup("doctor_fresh");
    if (!fixture) return context.skip();
    await fixture.store.ping();

    const { code, report, text, stderr } = await doctor(["--db", fixture.url]);
    expect(code).toBe(1);
    expect(report.ok).toBe(false);
    const migrations = find(report, "migrations");
    expect(migrations.status).toBe("problem");
    expect(migrations.detail).toMatch(/^(\d+) of \1 migrations are not applied to .*: 0001_initial/);
    expect(migrations.fix).toMatch(/^mcpgw migrate/);
    expect(statuses(report)).toMatchObject({ database: "ok", "signing keys": "skipped", backends: "skipped" });
    expect(text).toMatch(/PROBLEM {2}migrations/);
    expect(text).toMatch(/^\s+fix: mcpgw migrate/m);
    expect(stderr).toContain("error: mcpgw doctor found 1 problem");
    expect((await fixture.store.migrationStatus()).applied).toEqual([]);
  });
});

describe.each(BOTH_STORES)("mcpgw doctor on what roles and tokens refer to (%s)", (_label, setup) => {
  test("dangling patterns, tokens of roles that are gone, and admin tokens expiring within 7 days are warnings with the fix", async (context) => {
    const fixture = await setup("doctor_refs");
    if (!fixture) return context.skip();
    try {
      const { store } = fixture;
      await store.migrate();
      await ensureActiveSigningKey(store, "EdDSA");
      await store.backends.add(backendSpec(LAB));
      await store.roles.create({ name: "dev", rules: [allow("lab/*"), allow("gihtub/*"), allow("*/read_*")] });
      await store.roles.create({ name: "admin", rules: [allow("*"), allow("resource:*")] });
      await store.roles.grant("admin", "root");
      const now = Date.now();
      const token = (jti: string, subject: string, roles: string[], lifeMs: number, extra: Partial<TokenRecord> = {}): TokenRecord => ({
        jti,
        subject,
        roles,
        issuedAt: now - 1_000,
        expiresAt: now + lifeMs,
        ...extra,
      });
      const day = 86_400_000;
      for (const record of [
        token("t-orphan", "alice", ["dev", "gone"], day),
        token("t-expired-orphan", "bob", ["gone"], -1),
        token("t-revoked-orphan", "bob", ["gone"], day, { revokedAt: now - 10 }),
        token("t-admin-soon", "ops-bot", ["admin"], 2 * day),
        // root is an admin by grant: its soon-expiring token is covered by a longer one.
        token("t-root-soon", "root", [], day),
        token("t-root-later", "root", [], 30 * day),
      ]) {
        await store.tokens.add(record);
      }

      const { code, report, text } = await doctor(["--db", fixture.url]);
      expect(code, text).toBe(0);
      expect(find(report, "role patterns")).toMatchObject({
        status: "warning",
        detail: '1 pattern matches no backend: role dev: allow gihtub/* names backend "gihtub", which is not registered',
        fix: expect.stringContaining("mcpgw role update dev --remove-rule 'PATTERN'"),
      });
      expect(find(report, "token roles")).toMatchObject({
        status: "warning",
        detail: "1 live token carries roles that do not exist, which grant nothing: t-orphan of alice (gone)",
        fix: expect.stringContaining("mcpgw role create gone"),
      });
      const admin = find(report, "admin tokens");
      expect(admin).toMatchObject({ status: "warning", fix: "issue a new one before it expires: mcpgw token issue --sub ops-bot --role admin --ttl 30d" });
      expect(admin.detail).toMatch(
        /^an admin token runs out within 7d, with no longer-lived one for its subject: t-admin-soon of ops-bot expires in (1\.\d+|2)d/,
      );
      expect(admin.detail).not.toContain("root");
      expect(text).toMatch(/^ {2}warning {2}admin tokens +an admin token runs out/m);

      // Fixed: every check is ok again.
      await store.roles.update("dev", { removeRules: ["gihtub/*"] });
      await store.tokens.revoke("t-orphan", Date.now());
      await store.tokens.add(token("t-admin-later", "ops-bot", ["admin"], 30 * day));
      const fixed = await doctor(["--db", fixture.url]);
      expect(statuses(fixed.report)).toMatchObject({ "role patterns": "ok", "token roles": "ok", "admin tokens": "ok" });
    } finally {
      await fixture.cleanup();
    }
  });
});

describe("mcpgw doctor finds what is wrong", () => {
  test("dead backends: a program that exits and an HTTP URL nobody listens on, each with the fix", async () => {
    const fixture = await sqliteStoreFixture("doctor_dead");
    try {
      await fixture.store.migrate();
      await ensureActiveSigningKey(fixture.store, "EdDSA");
      const url = `http://127.0.0.1:${await freePort()}/mcp`;
      await fixture.store.backends.add(backendSpec(LAB));
      await fixture.store.backends.add(backendSpec({ name: "quitter", command: [BUN, "-e", "process.exit(3)"] }));
      await fixture.store.backends.add(backendSpec({ name: "nobody", url }));

      const { code, report, text } = await doctor(["--db", fixture.url]);
      expect(code).toBe(1);
      expect(statuses(report)).toMatchObject({ "backend lab": "ok", "backend quitter": "problem", "backend nobody": "problem" });
      expect(find(report, "backend quitter")).toMatchObject({
        detail: expect.stringContaining("exited before answering"),
        fix: expect.stringContaining("run the command by hand"),
      });
      expect(find(report, "backend nobody")).toMatchObject({
        detail: `backend "nobody": nothing is listening at ${url} (connection refused)`,
        fix: expect.stringContaining("start the server, or fix the URL"),
      });
      expect(text).toMatch(/PROBLEM {2}backend nobody +backend "nobody": nothing is listening/);
      expect(text).toMatch(/^2 problems; 8 of 11 checks ok$/m);
    } finally {
      await fixture.cleanup();
    }
  });

  test("a per-caller backend is not probed (there is no caller): doctor checks the gateway can sign its assertions", async () => {
    const fixture = await sqliteStoreFixture("doctor_per_caller");
    try {
      await fixture.store.migrate();
      await fixture.store.backends.add(backendSpec({ name: "tickets", url: `http://127.0.0.1:${await freePort()}/mcp`, auth: { mode: "gateway-assertion" } }));
      const keyless = await doctor(["--db", fixture.url]);
      const noKey = expect.stringContaining("no active signing key to sign assertions with");
      expect(find(keyless.report, "backend tickets")).toMatchObject({ status: "problem", detail: noKey, fix: "mcpgw key rotate" });
      const key = await ensureActiveSigningKey(fixture.store, "EdDSA");
      const { report } = await doctor(["--db", fixture.url]);
      expect(find(report, "backend tickets")).toMatchObject({ status: "ok", detail: expect.stringContaining(`signed with key ${key.kid}`) });
      expect(find(report, "backend tickets").detail).toContain("mcpgw call tickets/TOOL '{}' --as SUBJECT");
    } finally {
      await fixture.cleanup();
    }
  });

  test("a per-subject-secret backend: doctor checks the key is set and every stored secret is under a key the gateway holds", async () => {
    const fixture = await sqliteStoreFixture("doctor_secrets");
    const key = Buffer.alloc(32, 1).toString("base64");
    const other = Buffer.alloc(32, 2).toString("base64");
    try {
      await fixture.store.migrate();
      await fixture.store.backends.add(backendSpec({ name: "tickets", url: `http://127.0.0.1:${await freePort()}/mcp`, auth: { mode: "per-subject-secret" } }));
      const none = await doctor(["--db", fixture.url], { MCPGW_SECRET_KEY: key });
      expect(find(none.report, "backend tickets")).toMatchObject({ status: "warning", detail: expect.stringContaining("no subject has a secret") });
      const set = await runCli(["--db", fixture.url, "secret", "set", "tickets", "--sub", "alice"], {
        env: { MCPGW_SECRET_KEY: key },
        input: "doctor-secret-value",
      });
      expect(set.code, set.stderr).toBe(0);
      const healthy = await doctor(["--db", fixture.url], { MCPGW_SECRET_KEY: key });
      expect(find(healthy.report, "backend tickets")).toMatchObject({ status: "ok", detail: expect.stringContaining("1 subject has a secret") });
      const keyless = await doctor(["--db", fixture.url]);
      expect(find(keyless.report, "backend tickets")).toMatchObject({ status: "problem", detail: expect.stringContaining("MCPGW_SECRET_KEY is not set") });
      const wrongKey = await doctor(["--db", fixture.url], { MCPGW_SECRET_KEY: other });
      expect(find(wrongKey.report, "backend tickets")).toMatchObject({ status: "problem", detail: expect.stringContaining("alice (key ") });
      expect(find(wrongKey.report, "backend tickets").fix).toMatch(/MCPGW_SECRET_KEY_OLD and run mcpgw secret rekey/);
      const rotating = await doctor(["--db", fixture.url], { MCPGW_SECRET_KEY: other, MCPGW_SECRET_KEY_OLD: key });
      expect(find(rotating.report, "backend tickets")).toMatchObject({ status: "warning", fix: "mcpgw secret rekey" });
      for (const run of [none, healthy, keyless, wrongKey, rotating]) expect(JSON.stringify(run)).not.toContain("doctor-secret-value");
    } finally {
      await fixture.cleanup();
    }
  });

  test("an unreachable PostgreSQL: the database check says so, the checks that need it are skipped", async () => {
    const url = `postgres://postgres@127.0.0.1:${await freePort()}/test`;
    const { code, report, text } = await doctor(["--db", url]);
    expect(code).toBe(1);
    const database = find(report, "database");
    expect(database.status).toBe("problem");
    expect(database.detail).toMatch(/PostgreSQL at .* is unreachable/);
    expect(database.fix).toContain("check that PostgreSQL is running and that --db / MCPGW_DATABASE_URL points at it");
    expect(statuses(report)).toMatchObject({ configuration: "ok", migrations: "skipped", "signing keys": "skipped", backends: "skipped", clock: "skipped" });
    expect(text).toMatch(/skipped {2}migrations +needs a database that answers/);
  });

  test("a SQLite file that does not exist is reported, not created", async () => {
    const path = join(cwd.path, "missing", "gone.db");
    const { code, report } = await doctor(["--db", `sqlite:${path}`]);
    expect(code).toBe(1);
    expect(find(report, "database")).toMatchObject({
      status: "problem",
      detail: expect.stringContaining(`the SQLite file ${path} does not exist`),
      fix: expect.stringContaining("mcpgw init"),
    });
    expect(existsSync(path)).toBe(false);
  });

  test("no active signing key: named, with mcpgw key rotate as the fix", async () => {
    const fixture = await sqliteStoreFixture("doctor_keys");
    try {
      await fixture.store.migrate();
      const { code, report } = await doctor(["--db", fixture.url]);
      expect(code).toBe(1);
      expect(find(report, "signing keys")).toMatchObject({ status: "problem", fix: expect.stringMatching(/^mcpgw key rotate/) });
      // No backends is worth a warning, not a failure.
      expect(find(report, "backends")).toMatchObject({ status: "warning", fix: expect.stringContaining("mcpgw backend add") });
    } finally {
      await fixture.cleanup();
    }
  });

  test("a setting that does not resolve is a configuration problem (exit 1), not a crash", async () => {
    const { code, report } = await doctor(["--db", "sqlite:x.db"], { MCPGW_JWT_CLOCK_SKEW: "5m" });
    expect(code).toBe(1);
    expect(find(report, "configuration")).toMatchObject({
      status: "problem",
      detail: expect.stringContaining("MCPGW_JWT_CLOCK_SKEW"),
      fix: expect.stringContaining("NTP"),
    });
    expect(statuses(report)).toMatchObject({ database: "skipped" });
    expect(existsSync(join(cwd.path, "x.db"))).toBe(false);
  });

  test("a malformed .env is a configuration problem for doctor and a clear error for other commands", async () => {
    const dir = tempDir("mcpgw-doctor-env-");
    try {
      writeFileSync(join(dir.path, ".env"), "MCPGW_PORT=8080\nJUST_A_WORD\n");
      const json = await runCli(["doctor", "--json"], { cwd: dir.path });
      expect(json.code).toBe(1);
      expect(find(JSON.parse(json.stdout) as Report, "configuration")).toMatchObject({
        status: "problem",
        detail: expect.stringContaining('.env, line 2: "JUST_A_WORD" is not KEY=VALUE'),
      });
      const other = await runCli(["role", "list"], { cwd: dir.path });
      expect(other.code).toBe(2);
      expect(other.stderr).toMatch(/^error: .*\.env, line 2: "JUST_A_WORD" is not KEY=VALUE\n {2}→ fix or remove that line/);
      for (const result of [json, other]) expect(result.stderr).not.toMatch(/^\s+at /m);
    } finally {
      dir.remove();
    }
  });

  test("development-only settings are warnings: exit stays 0", async () => {
    const fixture = await sqliteStoreFixture("doctor_dev");
    try {
      await fixture.store.migrate();
      await fixture.store.backends.add(backendSpec(LAB));
      const { code, report } = await doctor(["--db", fixture.url], { MCPGW_AUTH: "off", MCPGW_AUDIT: "off" });
      expect(code).toBe(0);
      expect(statuses(report)).toMatchObject({ authentication: "warning", audit: "warning", "signing keys": "skipped", "backend lab": "ok" });
    } finally {
      await fixture.cleanup();
    }
  });
});
