import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { BackendListSchema, BackendWithPinsSchema, DeletedRoleSchema, RemovedBackendSchema, RevokedAllSchema } from "../src/admin/admin-api-schemas.ts";
import { issueToken } from "../src/auth/token-issuer.ts";
import { parsePermission } from "../src/policy/permission.ts";
import { openStore } from "../src/store/open-store.ts";
import type { Store } from "../src/store/store.ts";
import { type CliResult, REPO_ROOT, runCli } from "./helpers/cli.ts";
import { BUN, type TestGateway, backendSpec, startTestGateway } from "./helpers/gateway.ts";
import { type IsolatedSchema, isolatedSchema, postgresAvailable } from "./helpers/postgres.ts";
import { freePort } from "./helpers/process.ts";
import { tempDir } from "./helpers/temp-dir.ts";
import { onTerminal } from "./helpers/terminal.ts";

/**
 * `mcpgw … --server URL` (issue 20, acceptance 4): the backend, role, token and limit commands run
 * once on a database (--db) and once through a gateway's admin API (--server, --token) started on
 * an equivalent database, step by step, and must print the same (ids, jtis, tokens, times and
 * durations normalised) and exit with the same code, refusals included. Each step also states the
 * exit code it expects, so two modes failing alike cannot pass. Then what only a remote call
 * meets: a non-admin token, a bad token, no gateway, and the option rules.
 */

const WORK_SERVER = join(REPO_ROOT, "test/fixtures/work-server.ts");
const WORK = { name: "work", command: [BUN, WORK_SERVER, "--stdio"] };
const AUTH = { tokenIssuer: "mcpgw", tokenAudience: "mcpgw", signingAlg: "EdDSA" as const };

/** What each mode's commands captured so far (a limit's id, a token's jti), for later steps. */
type Captured = Record<string, string>;

interface Step {
  /** The command line, without --db or --server. */
  args: string[] | ((captured: Captured) => string[]);
  /** The exit code both modes must give. */
  code: 0 | 1 | 2;
  /** Text stdout or stderr must hold, in both modes. */
  shows?: string;
  /**
   * Rows in no defined order: tokens issued within the same second are listed newest first, ties
   * in jti order, and jtis are random (so the two databases may order them differently).
   */
  unordered?: boolean;
  /** Remembers a value of this step's output under a name. */
  capture?: (result: CliResult) => Captured;
}

/** The same stdout whatever the ids, jtis, tokens, times and durations. */
function normalise(text: string): string {
  return (
    text
      .replace(/eyJ[\w-]+\.[\w-]+\.[\w-]+/g, "<jwt>")
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "<uuid>")
      .replace(/lim_[0-9a-f]{10}/g, "<lim>")
      // Each database has its own signing key.
      .replace(/"kid": "[\w-]+"/g, '"kid": "<kid>"')
      .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, "<time>")
      .replace(/"connectMs": \d+(\.\d+)?/g, '"connectMs": <n>')
      .replace(/\bin \d+(\.\d+)?(ms|s)\b/g, "in <duration>")
  );
}

/** stdout as compared: normalised, and for an unordered step its rows (or JSON items) sorted. */
function comparable(stdout: string, unordered: boolean | undefined): string {
  const text = normalise(stdout);
  if (!unordered) return text;
  if (text.startsWith("[")) {
    return (JSON.parse(text) as unknown[])
      .map((item) => JSON.stringify(item))
      .sort()
      .join("\n");
  }
  return text.split("\n").sort().join("\n");
}

/** The roles and tokens both databases start with: an operator (admin:*) and a developer without admin permissions. */
async function prepare(store: Store, tokens: { ops: string; dev: string }): Promise<void> {
  await store.roles.create({ name: "ops", rules: [{ effect: "allow", permission: parsePermission("admin:*") }] });
  await store.roles.create({ name: "developer", rules: [{ effect: "allow", permission: parsePermission("work/*") }] });
  tokens.ops = (await issueToken(store, AUTH, { subject: "ops", roles: ["ops"], ttlMs: 3_600_000 })).token;
  // Issued a little later, so "newest first" orders the two alike in both databases.
  await Bun.sleep(5);
  tokens.dev = (await issueToken(store, AUTH, { subject: "dev", roles: ["developer"], ttlMs: 3_600_000 })).token;
}

const captureLimit =
  (name: string) =>
  (result: CliResult): Captured => ({ [name]: /lim_[0-9a-f]{10}/.exec(result.stdout)?.[0] ?? "" });
const captureJti =
  (name: string) =>
  (result: CliResult): Captured => ({ [name]: JSON.parse(result.stdout).jti });

const ROLE_STEPS: Step[] = [
  { args: ["role", "list"], code: 0, shows: "ROLE" },
  { args: ["role", "create", "dev", "--allow", "work/*", "--deny", "work/delete_*", "--description", "developers"], code: 0, shows: "(1 allow, 1 deny)" },
  { args: ["role", "create", "dev", "--allow", "work/*"], code: 1, shows: 'role "dev" already exists' },
  { args: ["role", "create", "ghosts", "--allow", "ghost/*"], code: 0, shows: "warning: " },
  { args: ["role", "create", "broken", "--allow", "work"], code: 2, shows: 'permission "work" is not BACKEND/NAME' },
  { args: ["role", "create", "no spaces"], code: 2, shows: "is not a valid role name" },
  { args: ["role", "update", "dev", "--allow", "work/get_*", "--remove-rule", "work/delete_*", "--allow", "ghost/x"], code: 0, shows: "its rules now" },
  { args: ["role", "update", "dev"], code: 2, shows: "nothing to change" },
  { args: ["role", "update", "nope", "--allow", "work/*"], code: 1, shows: 'there is no role "nope"' },
  { args: ["role", "grant", "dev", "alice"], code: 0, shows: 'granted role "dev" to "alice"' },
  { args: ["role", "grant", "dev", "bob"], code: 0 },
  { args: ["role", "grant", "nope", "alice"], code: 1, shows: 'there is no role "nope"' },
  { args: ["role", "revoke", "dev", "bob"], code: 0, shows: 'revoked role "dev" from "bob"' },
  { args: ["role", "revoke", "dev", "bob"], code: 1, shows: 'subject "bob" does not have role "dev"' },
  { args: ["role", "show", "dev"], code: 0, shows: "granted to: alice" },
  { args: ["role", "show", "dev", "--json"], code: 0, shows: '"subjects": [' },
  { args: ["role", "show", "nope"], code: 1, shows: 'there is no role "nope"' },
  { args: ["role", "list"], code: 0, shows: "developers" },
  { args: ["role", "list", "--json"], code: 0, shows: '"name": "ghosts"' },
  { args: ["role", "delete", "dev"], code: 2, shows: "revoke its grant to alice" },
  { args: ["role", "delete", "developer"], code: 2, shows: 'leave 1 live token carrying "developer"' },
  { args: ["role", "delete", "dev", "--yes"], code: 0, shows: 'deleted role "dev" with its rules and its grant to alice' },
  { args: ["role", "delete", "dev", "--yes"], code: 1, shows: 'there is no role "dev"' },
  { args: ["role", "list"], code: 0 },
];

const TOKEN_STEPS: Step[] = [
  { args: ["token", "issue", "--sub", "alice", "--role", "developer", "--ttl", "2h", "--description", "ci"], code: 0, shows: "<jwt>" },
  { args: ["token", "issue", "--sub", "alice", "--json"], code: 0, shows: '"issuer": "mcpgw"', capture: captureJti("second") },
  { args: ["token", "issue", "--sub", "carol", "--role", "developer", "--role", "ops"], code: 0 },
  { args: ["token", "issue", "--sub", "bob", "--role", "nope"], code: 1, shows: "nope" },
  { args: ["token", "issue", "--sub", "bob", "--ttl", "999d"], code: 2, shows: '--ttl "999d" is out of range' },
  { args: ["token", "list"], code: 0, shows: "alice", unordered: true },
  { args: ["token", "list", "--json"], code: 0, shows: '"status": "active"', unordered: true },
  { args: (c) => ["token", "revoke", c.second!], code: 0, shows: "running gateways refuse it within a second" },
  { args: (c) => ["token", "revoke", c.second!], code: 0, shows: "was already revoked" },
  { args: ["token", "revoke", "0193a5f2-7c1e-7d3a-9f0b-2c4d6e8f0a1b"], code: 1, shows: "there is no token" },
  { args: ["token", "revoke"], code: 2, shows: "say which tokens" },
  { args: ["token", "revoke", "--all-for", "alice"], code: 2, shows: 'revoke 1 live token of "alice"' },
  { args: ["token", "revoke", "--all-for", "alice", "--yes"], code: 0, shows: 'revoked 1 token of "alice"' },
  { args: ["token", "revoke", "--all-for", "alice", "--yes"], code: 0, shows: '"alice" has no live tokens' },
  { args: ["token", "list"], code: 0, shows: "revoked", unordered: true },
];

const LIMIT_STEPS: Step[] = [
  { args: ["limit", "list"], code: 0, shows: "no limits" },
  { args: ["limit", "set", "--sub", "alice", "--rate", "60/min"], code: 0, shows: "subject alice may make 60/min calls", capture: captureLimit("alice") },
  { args: ["limit", "set", "--sub", "alice", "--rate", "120/min"], code: 0, shows: "replaced <lim> (60/min, burst 60)" },
  { args: ["limit", "set", "--role", "ops", "--tool", "work/*", "--rate", "500/day", "--burst", "10"], code: 0, shows: "to work/*" },
  { args: ["limit", "set", "--global", "--rate", "200/s", "--burst", "50"], code: 0, shows: "everyone" },
  { args: ["limit", "set", "--rate", "5/s"], code: 2, shows: "exactly one of --sub SUBJECT, --role ROLE or --global" },
  { args: ["limit", "set", "--global", "--rate", "lots"], code: 2, shows: '--rate "lots" is not a rate' },
  { args: ["limit", "set", "--sub", "bob", "--rate", "1/s", "--burst", "0"], code: 2, shows: "--burst" },
  { args: ["limit", "list"], code: 0, shows: "each subject with role ops" },
  { args: ["limit", "list", "--json"], code: 0, shows: '"rate": "500/day"' },
  { args: ["limit", "list", "--usage"], code: 0, shows: "FULL AGAIN" },
  { args: ["limit", "list", "--usage", "--json"], code: 0, shows: '"key": "*"' },
  { args: (c) => ["limit", "update", c.alice!, "--rate", "30/min"], code: 0, shows: "30/min" },
  { args: (c) => ["limit", "update", c.alice!], code: 2, shows: "nothing to change" },
  { args: ["limit", "update", "lim_0000000000", "--rate", "1/s"], code: 1, shows: 'there is no limit rule "<lim>"' },
  { args: (c) => ["limit", "remove", c.alice!], code: 0, shows: "removed <lim>" },
  { args: (c) => ["limit", "remove", c.alice!], code: 1, shows: "there is no limit rule" },
  { args: ["limit", "list"], code: 0 },
];

const EXTRA = `${BUN} ${WORK_SERVER} --stdio`;
const BACKEND_STEPS: Step[] = [
  { args: ["backend", "list"], code: 0, shows: "work" },
  { args: ["backend", "add", "extra", "--command", EXTRA, "--idempotent-tool", "work-idempotent"], code: 0, shows: "tested: " },
  { args: ["backend", "add", "extra", "--command", EXTRA], code: 1, shows: 'backend "extra" already exists' },
  {
    args: ["backend", "add", "later", "--url", "http://127.0.0.1:9/mcp", "--header", "Authorization: Bearer literal", "--pin-mode", "explicit", "--no-test"],
    code: 0,
    shows: "pinning is explicit",
  },
  { args: ["backend", "add", "private", "--url", "http://user:hunter2@127.0.0.1:9/mcp", "--no-test"], code: 0, shows: "http://user:***@127.0.0.1:9/mcp" },
  { args: ["backend", "add", "bad", "--url", "ftp://example.com"], code: 2, shows: "ftp://example.com" },
  { args: ["backend", "add", "both", "--url", "http://127.0.0.1:9/mcp", "--command", "x"], code: 2 },
  {
    args: ["backend", "add", "sso", "--url", "http://127.0.0.1:9/mcp", "--auth", "gateway-assertion"],
    code: 0,
    shows: "not tested: it takes per-caller credentials",
  },
  { args: ["backend", "show", "extra"], code: 0, shows: "idempotent:work-idempotent" },
  { args: ["backend", "show", "later", "--json"], code: 0, shows: '"Authorization": "***"' },
  { args: ["backend", "show", "sso"], code: 0, shows: "gateway-assertion" },
  { args: ["backend", "show", "nope"], code: 1, shows: 'there is no backend "nope"' },
  { args: ["backend", "list"], code: 0, shows: "block: 0 pinned" },
  { args: ["backend", "list", "--json"], code: 0, shows: '"pinMode": "explicit"' },
  { args: ["backend", "update", "extra", "--timeout", "45s"], code: 0, shows: 'updated backend "extra": timeout' },
  { args: ["backend", "update", "extra", "--timeout", "45s", "--no-test"], code: 0, shows: "already has these settings" },
  { args: ["backend", "update", "extra", "--drift-mode", "warn"], code: 0, shows: 'backend "extra" pinning: tofu, drift warn' },
  { args: ["backend", "update", "extra"], code: 2, shows: "nothing to change" },
  // The pinning mode is set (and said) before the new command is tested; the failed test changes nothing else.
  { args: ["backend", "update", "extra", "--drift-mode", "off", "--command", "/nonexistent/mcp-server"], code: 1, shows: 'backend "extra" was not changed' },
  { args: ["backend", "update", "extra", "--suspicious", "block", "--timeout", "40s"], code: 0, shows: "suspicious block" },
  { args: ["backend", "update", "extra", "--max-body", "lots"], code: 2, shows: "--max-body" },
  { args: ["backend", "update", "later", "--command", EXTRA, "--no-test"], code: 0, shows: "dropped the headers" },
  { args: ["backend", "update", "nope", "--timeout", "1s"], code: 1, shows: 'there is no backend "nope"' },
  { args: ["backend", "test", "extra"], code: 0, shows: "is reachable" },
  { args: ["backend", "test", "extra", "--json"], code: 0, shows: '"toolCount"' },
  { args: ["backend", "test", "sso"], code: 2, shows: "takes per-caller credentials" },
  { args: ["role", "create", "extra-users", "--allow", "extra/*"], code: 0 },
  { args: ["limit", "set", "--global", "--tool", "extra/work", "--rate", "1/s"], code: 0 },
  { args: ["backend", "remove", "extra"], code: 2, shows: "leave role extra-users: allow extra/* matching nothing" },
  { args: ["backend", "remove", "extra", "--yes"], code: 0, shows: "these patterns now match nothing" },
  { args: ["backend", "remove", "extra", "--yes"], code: 1, shows: 'there is no backend "extra"' },
  { args: ["backend", "list"], code: 0 },
];

const FAMILIES: [string, Step[]][] = [
  ["roles", ROLE_STEPS],
  ["tokens", TOKEN_STEPS],
  ["limits", LIMIT_STEPS],
  ["backends", BACKEND_STEPS],
];

const postgres = await postgresAvailable();

/** A database for the database mode, set up as the gateway's is: migrated, the work backend, the same roles and tokens. */
async function databaseLike(url: string, tokens: { ops: string; dev: string }): Promise<void> {
  const store = openStore(url, { create: true });
  try {
    await store.migrate();
    await store.backends.add(backendSpec(WORK));
    await prepare(store, tokens);
  } finally {
    await store.close();
  }
}

for (const dialect of ["sqlite", "postgres"] as const) {
  // On PostgreSQL two families, to keep the suite short: the store code under the others is the same.
  const families = dialect === "sqlite" ? FAMILIES : FAMILIES.filter(([name]) => name === "roles" || name === "limits");

  describe.skipIf(dialect === "postgres" && !postgres)(`mcpgw … --db and --server on ${dialect}`, () => {
    const schemas: IsolatedSchema[] = [];
    const dir = tempDir("mcpgw-server-mode-");
    let db = "";
    let gw: TestGateway;
    const gatewayTokens = { ops: "", dev: "" };

    beforeAll(async () => {
      if (dialect === "postgres") schemas.push(await isolatedSchema("clidb"), await isolatedSchema("cligw"));
      db = schemas[0]?.url ?? `sqlite:${join(dir.path, "cli.db")}`;
      await databaseLike(db, { ops: "", dev: "" });
      gw = await startTestGateway(
        [WORK],
        { auth: "required" },
        { ...(schemas[1] && { databaseUrl: schemas[1].url }), prepare: (store) => prepare(store, gatewayTokens) },
      );
    }, 60_000);
    afterAll(async () => {
      await gw?.stop();
      for (const schema of schemas) await schema.drop();
      dir.remove();
    });

    for (const [family, steps] of families) {
      test(`${family}: every step prints the same and exits alike on the database and through the gateway`, async () => {
        const captured = { db: {} as Captured, server: {} as Captured };
        for (const step of steps) {
          const args = (mode: "db" | "server") => (typeof step.args === "function" ? step.args(captured[mode]) : step.args);
          const onDb = await runCli([...args("db"), "--db", db]);
          const onServer = await runCli([...args("server"), "--server", gw.base, "--token", gatewayTokens.ops]);
          const line = args("db").join(" ");
          expect(onDb.code, `${line} (--db): ${onDb.stderr}`).toBe(step.code);
          expect(onServer.code, `${line} (--server): ${onServer.stderr}`).toBe(step.code);
          expect(comparable(onServer.stdout, step.unordered), `${line}: stdout`).toBe(comparable(onDb.stdout, step.unordered));
          expect(normalise(onServer.stderr), `${line}: stderr`).toBe(normalise(onDb.stderr));
          if (step.shows) expect(normalise(onDb.stdout + onDb.stderr), line).toContain(step.shows);
          if (step.capture) {
            Object.assign(captured.db, step.capture(onDb));
            Object.assign(captured.server, step.capture(onServer));
          }
        }
      }, 120_000);
    }
  });
}

describe("what only --server meets", () => {
  let gw: TestGateway;
  const tokens = { ops: "", dev: "" };
  const dir = tempDir("mcpgw-server-only-");
  const db = `sqlite:${join(dir.path, "cli.db")}`;

  beforeAll(async () => {
    gw = await startTestGateway([WORK], { auth: "required" }, { prepare: (store) => prepare(store, tokens) });
    await databaseLike(db, { ops: "", dev: "" });
  }, 60_000);
  afterAll(async () => {
    await gw?.stop();
    dir.remove();
  });

  test("a token without the admin permission is refused (exit 1), naming the permission it needs; nothing changes", async () => {
    const listed = await runCli(["role", "list", "--server", gw.base, "--token", tokens.dev]);
    expect(listed.code).toBe(1);
    expect(listed.stderr).toContain('"dev" may not use GET /v1/admin/roles: it needs the admin permission admin:read');
    expect(listed.stderr).toContain("mcpgw role grant operators dev");
    const created = await runCli(["role", "create", "sneaky", "--allow", "*", "--server", gw.base, "--token", tokens.dev]);
    expect(created.code).toBe(1);
    expect(created.stderr).toContain("admin:write");
    const roles = await runCli(["role", "list", "--json", "--server", gw.base, "--token", tokens.ops]);
    expect(JSON.parse(roles.stdout).map((role: { name: string }) => role.name)).not.toContain("sneaky");
  });

  test("a token the gateway does not accept: exit 1, saying to pass an admin token", async () => {
    const result = await runCli(["token", "list", "--server", gw.base, "--token", "not-a-token"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`the gateway at ${gw.base} refused the token`);
    expect(result.stderr).toContain("--token or MCPGW_TOKEN");
  });

  test("no gateway at the address: exit 1, saying so and what to check", async () => {
    const nobody = `http://127.0.0.1:${await freePort()}`;
    const result = await runCli(["backend", "list", "--server", nobody, "--token", tokens.ops]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`error: cannot reach the gateway at ${nobody}: `);
    expect(result.stderr).toContain("(is mcpgw serve running? check --server)");
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  test("plain http to another host: a warning that the token crosses the network unencrypted; none on loopback", async () => {
    const elsewhere = `http://0.0.0.0:${await freePort()}`;
    const result = await runCli(["role", "list", "--server", elsewhere, "--token", tokens.ops]);
    expect(result.stderr).toContain(`warning: --server is plain http to 0.0.0.0:`);
    expect(result.stderr).toContain("the admin token crosses the network unencrypted; use https://");
    const local = await runCli(["role", "list", "--server", gw.base, "--token", tokens.ops]);
    expect(local.code).toBe(0);
    expect(local.stderr).not.toContain("warning:");
  });

  test("something that is not the admin API at the address: exit 1, saying so", async () => {
    const result = await runCli(["limit", "list", "--server", `${gw.base}/mcp`, "--token", tokens.ops]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("is --server the address of an mcpgw gateway");
  });

  test("--server with --db, --server without a token, --token without --server, or not an http(s) URL: usage errors (exit 2)", async () => {
    const both = await runCli(["role", "list", "--server", gw.base, "--token", tokens.ops, "--db", db]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("--server and --db were both given");
    const tokenless = await runCli(["role", "list", "--server", gw.base]);
    expect(tokenless.code).toBe(2);
    expect(tokenless.stderr).toContain("--server needs an admin token: pass --token or set MCPGW_TOKEN");
    expect(tokenless.stderr).toContain("mcpgw token issue --sub ops --role ops");
    const stray = await runCli(["role", "list", "--token", tokens.ops, "--db", db]);
    expect(stray.code).toBe(2);
    expect(stray.stderr).toContain("--token goes with --server: without a gateway to send it to, the command would run on the database given by --db");
    const notHttp = await runCli(["role", "list", "--server", "ftp://example.com", "--token", tokens.ops]);
    expect(notHttp.code).toBe(2);
    expect(notHttp.stderr).toContain('--server: "ftp://example.com" is not an http(s) URL');
  });

  test("MCPGW_SERVER and MCPGW_TOKEN select the gateway; a given --db wins over them", async () => {
    // A role only the gateway's database has tells the two apart.
    expect((await runCli(["role", "create", "only-on-gateway", "--server", gw.base, "--token", tokens.ops])).code).toBe(0);
    const env = { MCPGW_SERVER: gw.base, MCPGW_TOKEN: tokens.ops };
    const throughEnv = await runCli(["role", "show", "only-on-gateway"], { env });
    expect(throughEnv.code, throughEnv.stderr).toBe(0);
    const onDb = await runCli(["role", "show", "only-on-gateway", "--db", db], { env });
    expect(onDb.code).toBe(1);
    expect(onDb.stderr).toContain('there is no role "only-on-gateway"');
    const flagBeatsEnv = await runCli(["role", "show", "only-on-gateway", "--token", "not-a-token"], { env });
    expect(flagBeatsEnv.code).toBe(1);
    expect(flagBeatsEnv.stderr).toContain("refused the token");
  });

  test("on a terminal, role delete through the gateway says what goes, asks, and only yes deletes", async () => {
    const remote = ["--server", gw.base, "--token", tokens.ops];
    expect((await runCli(["role", "create", "asked", "--allow", "work/*", ...remote])).code).toBe(0);
    expect((await runCli(["role", "grant", "asked", "erin", ...remote])).code).toBe(0);
    const no = await onTerminal([...remote, "role", "delete", "asked"], "n\r");
    expect(no.output).toContain("revoke its grant to erin");
    expect(no.output).toContain('Delete role "asked" and its 1 rule?');
    expect(no.output).toContain("not confirmed: nothing was changed");
    expect((await runCli(["role", "show", "asked", ...remote])).code).toBe(0);
    const yes = await onTerminal([...remote, "role", "delete", "asked"], "y\r");
    expect(yes.output).toContain('deleted role "asked" with its rules and its grant to erin');
    expect((await runCli(["role", "show", "asked", ...remote])).code).toBe(1);
  });

  test("commands the admin API does not serve refuse --server (exit 2) instead of using the database", async () => {
    const pin = await runCli(["backend", "pin", "work", "--server", gw.base, "--token", tokens.ops]);
    expect(pin.code).toBe(2);
    expect(pin.stderr).toContain("error: mcpgw backend pin is not available with --server; run it with --db");
    for (const words of ["backend diff", "backend approve", "audit tail", "key list", "secret list", "migrate", "serve", "apply"]) {
      const args = [...words.split(" "), ...(words.startsWith("backend") ? ["work"] : words === "apply" ? ["-f", "x.yaml"] : [])];
      const result = await runCli([...args, "--server", gw.base, "--token", tokens.ops]);
      expect(result.code, words).toBe(2);
      expect(result.stderr).toContain(`mcpgw ${words} is not available with --server; run it with --db`);
    }
    const fromEnv = await runCli(["key", "list"], { env: { MCPGW_SERVER: gw.base, MCPGW_TOKEN: tokens.ops } });
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.stderr).toContain("is not available with --server (MCPGW_SERVER is set); run it with --db");
    expect(fromEnv.stderr).toContain("or unset MCPGW_SERVER");
    // With --db given, MCPGW_SERVER is not in force: the command runs on the database.
    const withDb = await runCli(["key", "list", "--db", db], { env: { MCPGW_SERVER: gw.base } });
    expect(withDb.code, withDb.stderr).toBe(0);
  });
});

describe("what the admin API answers for the CLI: dry runs before a confirmation, pins", () => {
  let gw: TestGateway;
  const tokens = { ops: "", dev: "" };

  beforeAll(async () => {
    gw = await startTestGateway([WORK], { auth: "required" }, { prepare: (store) => prepare(store, tokens) });
  }, 60_000);
  afterAll(async () => gw?.stop());

  // biome-ignore lint/suspicious/noExplicitAny: answers are checked against their schemas
  async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const response = await fetch(`${gw.base}${path}`, {
      method,
      headers: { authorization: `Bearer ${tokens.ops}`, "content-type": "application/json" },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: await response.json() };
  }
  /** The audit records of an admin action on a target. */
  async function changes(action: string, target: string): Promise<unknown[]> {
    const page = await api("GET", "/v1/admin/audit?subject=ops&limit=500");
    return page.body.records.filter((r: { method: string; target: string }) => r.method === `admin/${action}` && r.target === target);
  }

  test("DELETE a role with dryRun=true says what would go and deletes nothing, unaudited; without it, deletes and says what went", async () => {
    expect((await api("POST", "/v1/admin/roles", { name: "temp", allow: ["work/*"] })).status).toBe(201);
    expect((await api("PUT", "/v1/admin/roles/temp/subjects/bob")).status).toBe(200);
    const dry = await api("DELETE", "/v1/admin/roles/temp?dryRun=true");
    expect(dry.status).toBe(200);
    expect(DeletedRoleSchema.parse(dry.body)).toMatchObject({ name: "temp", subjects: ["bob"], consequences: ["revoke its grant to bob"] });
    expect((await api("GET", "/v1/admin/roles/temp")).status).toBe(200);
    expect(await changes("roles.delete", "temp")).toEqual([]);
    const done = await api("DELETE", "/v1/admin/roles/temp");
    expect(done.status).toBe(200);
    expect(done.body.consequences).toEqual(["revoke its grant to bob"]);
    expect((await api("GET", "/v1/admin/roles/temp")).status).toBe(404);
    expect(await changes("roles.delete", "temp")).toHaveLength(1);
  });

  test("DELETE a backend with dryRun=true lists the patterns it would leave matching nothing, and removes nothing", async () => {
    const dry = await api("DELETE", "/v1/admin/backends/work?dryRun=true");
    expect(dry.status).toBe(200);
    expect(RemovedBackendSchema.parse(dry.body).unmatched).toEqual(["role developer: allow work/*"]);
    expect((await api("GET", "/v1/admin/backends/work")).status).toBe(200);
    expect(await changes("backends.remove", "work")).toEqual([]);
  });

  test("revoking a subject's tokens with dryRun=true lists the live ones and revokes none", async () => {
    const dry = await api("POST", "/v1/admin/tokens/revoke?dryRun=true", { sub: "dev" });
    expect(dry.status).toBe(200);
    const live = RevokedAllSchema.parse(dry.body).revoked;
    expect(live.map((token) => [token.subject, token.status])).toEqual([["dev", "active"]]);
    const listed = await api("GET", "/v1/admin/tokens");
    expect(listed.body.tokens.find((token: { jti: string }) => token.jti === live[0]!.jti).status).toBe("active");
    // The token still admits its subject.
    const mcp = await fetch(gw.mcpUrl("work"), {
      method: "POST",
      headers: { authorization: `Bearer ${tokens.dev}`, "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
    });
    expect(mcp.status).not.toBe(401);
  });

  test("dryRun takes true or false, else 400 naming the field", async () => {
    const bad = await api("DELETE", "/v1/admin/roles/developer?dryRun=yes");
    expect(bad.status).toBe(400);
    expect(bad.body.field).toBe("dryRun");
    expect((await api("GET", "/v1/admin/roles/developer")).status).toBe(200);
  });

  test("backend list and show carry each backend's pinning: modes, pins by status, suspicious ones, what to review", async () => {
    const listed = await api("GET", "/v1/admin/backends");
    expect(listed.status).toBe(200);
    const [work] = BackendListSchema.parse(listed.body).backends;
    expect(work?.pins).toMatchObject({ pinMode: "tofu", driftMode: "block", suspicious: "flag", flagged: 0 });
    const shown = await api("GET", "/v1/admin/backends/work");
    expect(BackendWithPinsSchema.parse(shown.body).pins).toEqual(work?.pins);
  });
});
