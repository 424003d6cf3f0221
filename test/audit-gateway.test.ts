import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { AUDIT_UNAVAILABLE_CODE } from "../src/audit/audit-errors.ts";
import type { AuditRow } from "../src/audit/audit-record.ts";
import { verifyAllChains } from "../src/audit/verify-chains.ts";
import { REPO_ROOT } from "./helpers/cli.ts";
import { BUN, type TestGateway, connectClient, startTestGateway } from "./helpers/gateway.ts";
import { issueToken } from "../src/auth/token-issuer.ts";
import { parsePermission } from "../src/policy/permission.ts";
import { isolatedSchema, postgresAvailable, testPostgresUrl } from "./helpers/postgres.ts";
import { TcpProxy } from "./helpers/tcp-proxy.ts";
import { tempDir } from "./helpers/temp-dir.ts";
import { Database } from "bun:sqlite";

const LAB_SERVER = join(REPO_ROOT, "test/fixtures/lab-server.ts");
const STDIO_SPY = join(REPO_ROOT, "test/fixtures/stdio-spy.ts");
const CLI = join(REPO_ROOT, "cli/main.ts");
/** Issue 6, acceptance 1: this many calls, ~200 in flight at once over 100 sessions. */
const CALLS = 10_000;
const ALICE_SESSIONS = 80;
const LIMITED_SESSIONS = 20;
const IN_FLIGHT_PER_SESSION = 2;
/** The rate-limited subject's budget for lab/echo: a burst of this many, then 1 a day (none in the test). */
const LIMITED_BURST = 50;

/**
 * The database under a gateway, reachable in a way the test can break for real: Postgres through
 * a TCP proxy that can be cut (the network is gone), SQLite through triggers that abort every
 * audit write (chmod cannot do it: the gateway's connection already has the file open
 * read-write, and WAL writes go through that descriptor).
 */
interface Harness {
  label: string;
  /** The URL the gateway uses (through the proxy, for Postgres). */
  url: string;
  /** The URL for the CLI and direct checks (never cut). */
  directUrl: string;
  breakStore(): Promise<void>;
  restoreStore(): Promise<void>;
  cleanup(): Promise<void>;
}

async function sqliteHarness(): Promise<Harness> {
  const dir = tempDir("mcpgw-audit-gw-");
  const path = join(dir.path, "gw.db");
  return {
    label: "sqlite",
    url: `sqlite:${path}`,
    directUrl: `sqlite:${path}`,
    async breakStore() {
      const db = new Database(path);
      // Every audit write fails, as on a full or read-only disk: records and chain heads alike.
      db.exec("CREATE TRIGGER audit_down BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'disk I/O error (test)'); END;");
      db.exec("CREATE TRIGGER audit_head_down BEFORE UPDATE ON audit_chains BEGIN SELECT RAISE(ABORT, 'disk I/O error (test)'); END;");
      db.close();
    },
    async restoreStore() {
      const db = new Database(path);
      db.exec("DROP TRIGGER audit_down");
      db.exec("DROP TRIGGER audit_head_down");
      db.close();
    },
    async cleanup() {
      dir.remove();
    },
  };
}

async function postgresHarness(): Promise<Harness | undefined> {
  if (!(await postgresAvailable())) return undefined;
  const schema = await isolatedSchema("audit_gw");
  const real = new URL(testPostgresUrl());
  const proxy = new TcpProxy({ host: real.hostname, port: Number(real.port || 5432) }).open();
  const viaProxy = new URL(schema.url);
  viaProxy.port = String(proxy.port);
  return {
    label: "postgres",
    url: viaProxy.toString(),
    directUrl: schema.url,
    breakStore: async () => proxy.cut(),
    restoreStore: async () => void proxy.open(),
    async cleanup() {
      proxy.cut();
      await schema.drop();
    },
  };
}

/** Every line the stdio spy saw the gateway send to the lab backend that is a tools/call. */
function backendCalls(spyLog: string): string[] {
  if (!existsSync(spyLog)) return [];
  return readFileSync(spyLog, "utf8")
    .split("\n")
    .filter((line) => line.includes('"method":"tools/call"'));
}

async function openStoreFor(url: string) {
  const { openStore } = await import("../src/store/open-store.ts");
  return openStore(url, { poolSize: 2 });
}

async function rowsOf(url: string): Promise<AuditRow[]> {
  const store = await openStoreFor(url);
  try {
    const rows: AuditRow[] = [];
    let after: { ts: number; id: number } | undefined;
    for (;;) {
      const page = await store.audit.list({ filter: {}, limit: 1_000, ...(after && { after }) });
      rows.push(...page);
      if (page.length < 1_000) return rows;
      after = { ts: page.at(-1)!.ts, id: page.at(-1)!.id! };
    }
  } finally {
    await store.close();
  }
}

type Kind = "ok" | "tool-error" | "unknown-tool" | "denied" | "rate-limited" | "down" | "crash" | "unknown-backend" | "invalid";
const KINDS: Kind[] = ["ok", "tool-error", "unknown-tool", "denied", "rate-limited", "down", "crash", "unknown-backend", "invalid"];
type Answer = "result" | "tool-error" | number;

/** One call of a kind, tagged with a unique text so its record can be found by its arguments. */
async function callOfKind(client: Client, kind: Kind, tag: string): Promise<Answer> {
  const request = {
    ok: { name: "lab__echo", arguments: { text: tag } },
    "tool-error": { name: "lab__echo", arguments: { text: 42, tag } },
    "unknown-tool": { name: "lab__nope", arguments: { text: tag } },
    // The role allows every tool but this one (deny wins).
    denied: { name: "lab__sleep", arguments: { ms: 1, tag } },
    // Made by the subject whose budget for lab/echo is a burst of LIMITED_BURST calls.
    "rate-limited": { name: "lab__echo", arguments: { text: tag } },
    down: { name: "down__echo", arguments: { text: tag } },
    // The backend process exits mid-call; while it restarts (with backoff) calls fail at once.
    crash: { name: "crashy__crash", arguments: { tag } },
    "unknown-backend": { name: "ghost__echo", arguments: { text: tag } },
    invalid: { name: "no-backend-prefix", arguments: { text: tag } },
  }[kind];
  try {
    const result = await client.callTool(request);
    return result.isError === true ? "tool-error" : "result";
  } catch (err) {
    return (err as { code: number }).code;
  }
}

/** What the caller is told for each kind (a rate-limited call may also be one of the burst: "result"). */
const ANSWERS: Record<Kind, Answer[]> = {
  ok: ["result"],
  "tool-error": ["tool-error"],
  "unknown-tool": ["tool-error"],
  denied: [-32012],
  "rate-limited": ["result", -32013],
  down: [-32010],
  crash: [-32010],
  "unknown-backend": [-32011],
  invalid: [-32602],
};

/** The record a call of a kind leaves, given what its caller was told. */
function expectedRecord(kind: Kind, answer: Answer): Partial<AuditRow> {
  switch (kind) {
    case "ok":
      return { status: "ok", kind: "call", backend: "lab", target: "echo" };
    case "tool-error":
      return { status: "error", kind: "call", backend: "lab", target: "echo", errorMessage: "the tool reported an error (isError)" };
    case "unknown-tool":
      return { status: "error", kind: "call", backend: "lab", target: "nope" };
    case "denied":
      return { status: "denied", kind: "refusal", backend: "lab", target: "sleep", errorCode: -32012, decision: "denied" };
    case "rate-limited":
      return answer === "result"
        ? { status: "ok", kind: "call", backend: "lab", target: "echo", subject: "rl" }
        : { status: "rate_limited", kind: "refusal", backend: "lab", target: "echo", subject: "rl", errorCode: -32013, rule: "rl-echo" };
    case "down":
      return { status: "error", kind: "call", backend: "down", errorCode: -32010 };
    case "crash":
      return { status: "error", kind: "call", backend: "crashy", target: "crash", errorCode: -32010 };
    case "unknown-backend":
      return { status: "error", kind: "call", backend: "ghost", errorCode: -32011 };
    case "invalid":
      return { status: "invalid", kind: "refusal", errorCode: -32602 };
  }
}

/** Runs `tasks` with at most `width` in flight (one session's share of the load). */
async function inFlight<T>(tasks: (() => Promise<T>)[], width: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < tasks.length) {
        const i = next++;
        results[i] = await tasks[i]!();
      }
    }),
  );
  return results;
}

for (const [label, setup] of [
  ["sqlite", sqliteHarness],
  ["postgres", postgresHarness],
] as const) {
  describe(`audit through the gateway (${label})`, () => {
    let harness: Harness | undefined;
    let gw: TestGateway;
    let spyLog: string;
    let spyDir: { path: string; remove(): void };
    /** Sessions of "alice", whose role allows every tool but lab/sleep. */
    const clients: Client[] = [];
    /** Sessions of "rl", who may call lab/echo LIMITED_BURST times. */
    const limited: Client[] = [];

    beforeAll(async () => {
      harness = await setup();
      if (!harness) return;
      spyDir = tempDir("mcpgw-audit-spy-");
      spyLog = join(spyDir.path, "stdin.log");
      const tokens = { alice: "", rl: "" };
      gw = await startTestGateway(
        [
          { name: "lab", command: [BUN, STDIO_SPY, BUN, LAB_SERVER, "--stdio"], env: { LAB_NAME: "lab", STDIO_SPY_LOG: spyLog } },
          { name: "down", url: "http://127.0.0.1:1/mcp", timeoutMs: 2_000 },
          { name: "crashy", command: [BUN, LAB_SERVER, "--stdio"], env: { LAB_NAME: "crashy" } },
        ],
        { auth: "required" },
        {
          databaseUrl: harness.url,
          prepare: async (store) => {
            await store.roles.create({
              name: "mixer",
              rules: [
                { effect: "allow", permission: parsePermission("*") },
                { effect: "deny", permission: parsePermission("lab/sleep") },
              ],
            });
            await store.limits.add({
              id: "rl-echo",
              scope: "subject",
              scopeValue: "rl",
              toolPattern: "lab/echo",
              count: 1,
              periodMs: 86_400_000,
              burst: LIMITED_BURST,
              createdAt: Date.now(),
            });
            const auth = { tokenIssuer: "mcpgw", tokenAudience: "mcpgw", signingAlg: "EdDSA" } as const;
            for (const subject of ["alice", "rl"] as const)
              tokens[subject] = (await issueToken(store, auth, { subject, roles: ["mixer"], ttlMs: 3_600_000 })).token;
          },
        },
      );
      const connect = (name: string, token: string) => connectClient(gw.mcpUrl(), {}, name, { token });
      clients.push(...(await Promise.all(Array.from({ length: ALICE_SESSIONS }, (_, i) => connect(`audit-${i}`, tokens.alice)))));
      limited.push(...(await Promise.all(Array.from({ length: LIMITED_SESSIONS }, (_, i) => connect(`audit-rl-${i}`, tokens.rl)))));
    }, 60_000);

    afterAll(async () => {
      await Promise.all([...clients, ...limited].map((c) => c.close().catch(() => undefined)));
      await gw?.stop();
      await harness?.cleanup();
      spyDir?.remove();
    });

    test(`${CALLS.toLocaleString("en")} concurrent calls with authentication (ok, tool error, unknown tool, denied, rate limited, failing and crashing backend, unknown backend, invalid) leave exactly one record each, with the right outcome`, async (context) => {
      if (!harness) return context.skip();
      const before = (await rowsOf(harness.directUrl)).length;
      const plan = Array.from({ length: CALLS }, (_, i) => ({ tag: `mix-${i}-${crypto.randomUUID().slice(0, 6)}`, kind: KINDS[i % KINDS.length]! }));
      // Each session runs its share with IN_FLIGHT_PER_SESSION calls in flight: ~200 at once in all.
      const sessions = [...clients, ...limited];
      const shares = sessions.map(() => [] as number[]);
      let alice = 0;
      let rl = 0;
      plan.forEach((call, i) => void shares[call.kind === "rate-limited" ? clients.length + (rl++ % limited.length) : alice++ % clients.length]!.push(i));
      const answers: Answer[] = new Array(CALLS);
      const started = performance.now();
      await Promise.all(
        sessions.map((client, s) =>
          inFlight(
            shares[s]!.map((i) => async () => void (answers[i] = await callOfKind(client, plan[i]!.kind, plan[i]!.tag))),
            IN_FLIGHT_PER_SESSION,
          ),
        ),
      );
      const seconds = (performance.now() - started) / 1_000;
      console.info(`[audit-gateway ${label}] ${CALLS} calls in ${seconds.toFixed(1)} s (${Math.round(CALLS / seconds)} calls/s)`);
      // The callers saw one of the answers their kind allows.
      plan.forEach((call, i) => expect(ANSWERS[call.kind], `${call.kind} ${call.tag}`).toContain(answers[i]));
      // The limit admitted at most its burst, and refused the rest.
      const limitedOk = plan.filter((call, i) => call.kind === "rate-limited" && answers[i] === "result").length;
      expect(limitedOk).toBeGreaterThan(0);
      expect(limitedOk).toBeLessThanOrEqual(LIMITED_BURST);

      // Outcomes are committed after the answer is sent (group-committed, not awaited by the caller).
      let rows = (await rowsOf(harness.directUrl)).slice(before);
      for (let i = 0; i < 100 && (rows.length < CALLS || rows.some((row) => row.status === "pending")); i++) {
        await Bun.sleep(100);
        rows = (await rowsOf(harness.directUrl)).slice(before);
      }
      expect(rows).toHaveLength(CALLS);
      const byTag = new Map<string, AuditRow[]>();
      for (const row of rows) {
        const tag = JSON.stringify(row.arguments).match(/mix-\d+-[0-9a-f]{6}/)?.[0];
        if (tag) byTag.set(tag, [...(byTag.get(tag) ?? []), row]);
      }
      const statuses = new Map<string, number>();
      plan.forEach((call, i) => {
        const records = byTag.get(call.tag) ?? [];
        expect(records, `${call.kind} ${call.tag}`).toHaveLength(1);
        const record = records[0]!;
        expect(record, `${call.kind} ${call.tag}`).toMatchObject({
          subject: "alice",
          roles: JSON.stringify(["mixer"]),
          method: "tools/call",
          clientName: expect.stringMatching(/^audit-(rl-)?\d+$/),
          ...expectedRecord(call.kind, answers[i]!),
        });
        if (record.kind === "call") expect(record.outcomeSeq).not.toBeNull();
        statuses.set(record.status, (statuses.get(record.status) ?? 0) + 1);
      });
      console.info(`[audit-gateway ${label}] records by status: ${JSON.stringify(Object.fromEntries(statuses))}`);
      // Every call that reached the backend has its record (nothing is forwarded unrecorded).
      const forwarded = backendCalls(spyLog).filter((line) => line.includes("mix-"));
      const reachedLab = plan.filter(
        (call, i) => ["ok", "tool-error", "unknown-tool"].includes(call.kind) || (call.kind === "rate-limited" && answers[i] === "result"),
      );
      expect(forwarded.length).toBe(reachedLab.length);
      const store = await openStoreFor(harness.directUrl);
      try {
        expect((await verifyAllChains(store.audit)).filter((r) => !r.ok)).toEqual([]);
      } finally {
        await store.close();
      }
    }, 180_000);

    test("write-ahead: with the audit store unable to commit, no call reaches the backend and callers are told why; calls flow again once it returns", async (context) => {
      if (!harness) return context.skip();
      const client = clients[0]!;
      expect(await callOfKind(client, "ok", "warm-up")).toBe("result");
      const reachedBefore = backendCalls(spyLog).length;

      await harness.breakStore();
      let restored = false;
      try {
        const answers = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            client.callTool({ name: "lab__echo", arguments: { text: `while-down-${i}` } }).then(
              () => undefined,
              (err: unknown) => err as { code: number; message: string },
            ),
          ),
        );
        for (const answer of answers) {
          expect(answer?.code).toBe(AUDIT_UNAVAILABLE_CODE);
          expect(answer?.message).toMatch(/audit log is unavailable, so the call was not forwarded/);
        }
        expect(backendCalls(spyLog).length).toBe(reachedBefore);
        // Failing closed, the gateway is not ready (and says why).
        const readyz = await fetch(`${gw.base}/readyz`);
        expect(readyz.status).toBe(503);

        await harness.restoreStore();
        restored = true;
        // Without a restart: the auditor retries the store and calls go through again.
        let answer: "result" | "tool-error" | number = 0;
        const deadline = Date.now() + 10_000;
        while (answer !== "result" && Date.now() < deadline) {
          answer = await callOfKind(client, "ok", "after-restore");
          if (answer !== "result") await Bun.sleep(100);
        }
        expect(answer).toBe("result");
        expect(backendCalls(spyLog).length).toBeGreaterThan(reachedBefore);
        expect((await fetch(`${gw.base}/readyz`)).status).toBe(200);
        const rows = await rowsOf(harness.directUrl);
        expect(rows.filter((row) => row.arguments?.includes("while-down"))).toEqual([]);
        expect(rows.filter((row) => row.arguments?.includes("after-restore") && row.status === "ok").length).toBeGreaterThanOrEqual(1);
      } finally {
        // A failure above must not leave the store broken for the next test.
        if (!restored) await harness.restoreStore();
      }
    });

    test("audit tail -f shows a new call within a second, as JSON lines", async (context) => {
      if (!harness) return context.skip();
      const tail = Bun.spawn([process.execPath, CLI, "--db", harness.directUrl, "audit", "tail", "-f", "-n", "0", "--json"], {
        stdout: "pipe",
        stderr: "pipe",
        stdin: "ignore",
      });
      const lines: { at: number; text: string }[] = [];
      const pump = (async () => {
        const decoder = new TextDecoder();
        let partial = "";
        for await (const chunk of tail.stdout) {
          const parts = (partial + decoder.decode(chunk, { stream: true })).split("\n");
          partial = parts.pop() ?? "";
          for (const text of parts) if (text !== "") lines.push({ at: Date.now(), text });
        }
      })();
      const waitFor = async (tag: string, ms: number) => {
        const deadline = Date.now() + ms;
        while (Date.now() < deadline) {
          const line = lines.find((l) => l.text.includes(tag));
          if (line) return line;
          await Bun.sleep(10);
        }
        return undefined;
      };
      try {
        // The first call proves the follower is running (it may still be starting up).
        const primer = `tail-primer-${crypto.randomUUID().slice(0, 6)}`;
        let seen: Awaited<ReturnType<typeof waitFor>>;
        for (let i = 0; i < 50 && !seen; i++) {
          await callOfKind(clients[1]!, "ok", `${primer}-${i}`);
          seen = await waitFor(primer, 200);
        }
        expect(seen, "tail -f never printed anything").toBeDefined();
        const tag = `tail-measured-${crypto.randomUUID().slice(0, 6)}`;
        await callOfKind(clients[1]!, "ok", tag);
        const answered = Date.now();
        const line = await waitFor(tag, 3_000);
        expect(line, "the call never appeared").toBeDefined();
        expect(line!.at - answered).toBeLessThan(1_000);
        for (const { text } of lines) expect(() => JSON.parse(text)).not.toThrow();
        expect(JSON.parse(line!.text)).toMatchObject({ status: "ok", method: "tools/call", backend: "lab", target: "echo", arguments: { text: tag } });
      } finally {
        tail.kill("SIGINT");
        expect(await tail.exited).toBe(0);
        await pump;
      }
    });
  });
}

describe("a secret in tool arguments never reaches the database, the logs or audit tail", () => {
  let dir: { path: string; remove(): void };
  let gw: TestGateway;
  const logLines: string[] = [];
  const JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJleHAiOjk5OTk5OTk5OTl9.Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0";

  beforeAll(async () => {
    dir = tempDir("mcpgw-audit-secret-");
    const pino = (await import("pino")).default;
    // Everything the gateway logs, at the most verbose level.
    const logger = pino({ level: "trace" }, { write: (line: string) => void logLines.push(line) });
    gw = await startTestGateway(
      [{ name: "lab", command: [BUN, LAB_SERVER, "--stdio"], env: { LAB_NAME: "lab" } }],
      { logLevel: "trace" },
      { databaseUrl: `sqlite:${join(dir.path, "gw.db")}`, logger },
    );
  });

  afterAll(async () => {
    await gw?.stop();
    dir?.remove();
  });

  test("password field, bearer token in a string, JWT in an error: none is stored, logged or printed", async () => {
    const client = await connectClient(gw.mcpUrl(), {}, "secretive");
    try {
      const ok = await client.callTool({ name: "lab__echo", arguments: { text: `curl -H "Authorization: Bearer ${JWT}"`, password: "hunter2" } });
      expect(ok.isError).toBeFalsy();
      // A refusal (invalid name) carries its arguments too.
      await expect(client.callTool({ name: "nobackend", arguments: { password: "hunter2", token: JWT } })).rejects.toThrow();
    } finally {
      await client.close();
    }
    const url = `sqlite:${join(dir.path, "gw.db")}`;
    const db = new Database(join(dir.path, "gw.db"));
    const dump = JSON.stringify(db.query("SELECT * FROM audit_events").all());
    db.close();
    expect(dump).toContain("Bearer [REDACTED]");
    expect(dump).toContain('"password\\":\\"[REDACTED]\\"');
    const { runCli } = await import("./helpers/cli.ts");
    const human = await runCli(["--db", url, "audit", "tail", "-n", "50"]);
    const json = await runCli(["--db", url, "audit", "tail", "-n", "50", "--json"]);
    const exported = await runCli(["--db", url, "audit", "export", "--format", "csv"]);
    expect(human.code).toBe(0);
    expect(json.code).toBe(0);
    expect(human.stdout).toMatch(/ok\s+anonymous\s+tools\/call\s+lab\/echo/);
    expect(
      json.stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as { arguments: unknown }),
    ).toHaveLength(2);
    for (const [where, text] of [
      ["database", dump],
      ["logs", logLines.join("\n")],
      ["tail", human.stdout + human.stderr],
      ["tail --json", json.stdout],
      ["export", exported.stdout],
    ] as const) {
      expect(text, where).not.toContain("hunter2");
      expect(text, where).not.toContain(JWT);
      expect(text, where).not.toContain(JWT.split(".")[1]);
    }
    expect(logLines.length).toBeGreaterThan(0);
  });
});

describe("SIGKILL mid-load, restart: every call the backend received has a record; unfinished ones are incomplete", () => {
  test("on SQLite and PostgreSQL", async () => {
    const targets: { label: string; url: string; cleanup(): Promise<void> }[] = [];
    const dir = tempDir("mcpgw-audit-kill-");
    targets.push({ label: "sqlite", url: `sqlite:${join(dir.path, "gw.db")}`, cleanup: async () => dir.remove() });
    if (await postgresAvailable()) {
      const schema = await isolatedSchema("audit_kill");
      targets.push({ label: "postgres", url: schema.url, cleanup: () => schema.drop() });
    }
    try {
      for (const target of targets) await killAndRestart(target.url, join(dir.path, `${target.label}-spy.log`));
    } finally {
      for (const target of targets) await target.cleanup();
    }
  });
});

async function killAndRestart(url: string, spyLog: string): Promise<void> {
  const { runCli } = await import("./helpers/cli.ts");
  const { freePort, startProcess } = await import("./helpers/process.ts");
  expect((await runCli(["--db", url, "migrate"])).code).toBe(0);
  const add = await runCli([
    "--db",
    url,
    "backend",
    "add",
    "lab",
    "--command",
    `${BUN} ${STDIO_SPY} ${BUN} ${LAB_SERVER} --stdio`,
    "--env",
    `STDIO_SPY_LOG=${spyLog}`,
  ]);
  expect(add.code, add.stderr).toBe(0);
  const env = { MCPGW_AUTH: "off", MCPGW_AUDIT_INSTANCE: "kill-test", MCPGW_LOG_LEVEL: "info" };
  const serve = async () => {
    const port = await freePort();
    const gateway = await startProcess([BUN, CLI, "--db", url, "serve", "--port", String(port)], /mcpgw listening/, env);
    // Ready when /readyz says so (the audit chain is open by then).
    for (let i = 0; i < 100; i++) {
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) break;
      await Bun.sleep(50);
    }
    return { gateway, url: new URL(`http://127.0.0.1:${port}/mcp`) };
  };

  const first = await serve();
  const clients = await Promise.all(Array.from({ length: 5 }, (_, i) => connectClient(first.url, {}, `kill-${i}`)));
  // Quick calls that finish, and slow ones (5 s) that are in flight when the gateway dies.
  await Promise.all(clients.map((c, i) => c.callTool({ name: "lab__echo", arguments: { text: `done-${i}` } })));
  const slow = clients.map((c, i) => c.callTool({ name: "lab__sleep", arguments: { ms: 5_000 } }, undefined, { timeout: 20_000 }).catch(() => `lost-${i}`));
  const deadline = Date.now() + 5_000;
  while (backendCalls(spyLog).filter((line) => line.includes('"sleep"')).length < clients.length && Date.now() < deadline) await Bun.sleep(20);
  first.gateway.kill("SIGKILL");
  await first.gateway.exited;
  await Promise.all(slow);
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));

  const second = await serve();
  try {
    const rows = await rowsOf(url);
    const received = backendCalls(spyLog);
    expect(received.length).toBe(10);
    // Every call the backend received has a record: 5 finished, 5 marked incomplete at the restart.
    expect(rows.filter((row) => row.target === "echo" && row.status === "ok")).toHaveLength(5);
    const sleeps = rows.filter((row) => row.target === "sleep");
    expect(sleeps).toHaveLength(5);
    for (const row of sleeps) expect(row).toMatchObject({ status: "incomplete", errorMessage: expect.stringMatching(/no outcome was recorded/) });
    const verify = await runCli(["--db", url, "audit", "verify"]);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  } finally {
    second.gateway.kill("SIGTERM");
    await second.gateway.exited;
  }
}
