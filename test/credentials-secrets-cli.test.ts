import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parseKey } from "../src/config/secret-key-settings.ts";
import { openSecret } from "../src/credentials/secret-cipher.ts";
import { openStore } from "../src/store/open-store.ts";
import { REPO_ROOT, cleanEnv, runCli, type CliResult } from "./helpers/cli.ts";
import { BUN, connectClient } from "./helpers/gateway.ts";
import { headerRecordingBackend } from "./helpers/header-recording-backend.ts";
import { type StartedProcess, startProcess } from "./helpers/process.ts";
import { tempDir } from "./helpers/temp-dir.ts";

const newKey = () => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64");
/** Distinctive values: none may appear in the database file, a log line, an audit row, a --json output or an error message. */
const ALICE_SECRET = `alice-zq${crypto.randomUUID().replaceAll("-", "")}`;
const BOB_SECRET = `bob-zq${crypto.randomUUID().replaceAll("-", "")}`;

type Text = { content: { text: string }[] };

describe("per-subject secrets through the CLI and mcpgw serve: encrypted at rest, across restarts and a rekey, never shown", () => {
  const dir = tempDir("mcpgw-secrets-");
  const dbFile = join(dir.path, "gw.db");
  const db = `sqlite:${dbFile}`;
  const oldKey = newKey();
  const key2 = newKey();
  let backend: ReturnType<typeof headerRecordingBackend>;
  /** Everything any process printed: CLI stdout and stderr, every gateway's logs. */
  const printed: string[] = [];
  let aliceToken = "";
  let carolToken = "";

  const cli = async (args: string[], env: Record<string, string> = {}, input?: string): Promise<CliResult> => {
    const result = await runCli(["--db", db, ...args], { env: { MCPGW_LOG_LEVEL: "debug", ...env }, ...(input !== undefined && { input }) });
    printed.push(result.stdout, result.stderr);
    return result;
  };

  async function serve(env: Record<string, string>): Promise<{ gateway: StartedProcess; base: string }> {
    const gateway = await startProcess([BUN, join(REPO_ROOT, "cli/main.ts"), "serve", "--port", "0", "--db", db], /mcpgw listening/, {
      ...cleanEnv(),
      MCPGW_LOG_LEVEL: "debug",
      ...env,
    });
    return { gateway, base: new URL(/"url":"([^"]+)"/.exec(gateway.output())![1]!).origin };
  }

  async function stop(running: { gateway: StartedProcess }): Promise<void> {
    running.gateway.kill("SIGTERM");
    await running.gateway.exited;
    printed.push(running.gateway.output());
  }

  /** A whoami call as a subject through a running gateway: the header the backend got, or the error's message. */
  async function whoami(base: string, token: string): Promise<string> {
    let client: Client | undefined;
    try {
      client = await connectClient(new URL("/mcp", base), {}, "cli-test", { token });
      return ((await client.callTool({ name: "tickets__whoami", arguments: {} })) as Text).content[0]!.text;
    } catch (err) {
      return `error: ${(err as Error).message}`;
    } finally {
      await client?.close().catch(() => undefined);
    }
  }

  beforeAll(async () => {
    backend = headerRecordingBackend();
    expect((await cli(["migrate"])).code).toBe(0);
    const added = await cli(["backend", "add", "tickets", "--url", backend.url, "--auth", "per-subject-secret", "--no-test"]);
    expect(added.code, added.stderr).toBe(0);
    expect((await cli(["role", "create", "agents", "--allow", "*"])).code).toBe(0);
    expect((await cli(["role", "grant", "agents", "alice"])).code).toBe(0);
    aliceToken = (await cli(["token", "issue", "--sub", "alice", "--role", "agents"])).stdout.trim();
    carolToken = (await cli(["token", "issue", "--sub", "carol", "--role", "agents"])).stdout.trim();
  }, 60_000);
  afterAll(() => {
    backend?.stop();
    dir.remove();
  });

  test("set refuses a value on the command line, and refuses without a key saying how to make one; with one it stores ciphertext only", async () => {
    const onArgv = await cli(["secret", "set", "tickets", "--sub", "alice", ALICE_SECRET], { MCPGW_SECRET_KEY: oldKey });
    expect(onArgv.code).toBe(2);
    expect(onArgv.stderr).toMatch(/takes the secret on stdin, never on the command line/);
    const noKey = await cli(["secret", "set", "tickets", "--sub", "alice"], {}, ALICE_SECRET);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/needs the key that encrypts per-subject secrets, and none is set[\s\S]*openssl rand -base64 32/);
    expect((await cli(["secret", "list", "--json"])).stdout.trim()).toBe("[]");

    const set = await cli(["secret", "set", "tickets", "--sub", "alice", "--json"], { MCPGW_SECRET_KEY: oldKey }, `${ALICE_SECRET}\n`);
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({ backend: "tickets", subject: "alice", keyId: parseKey(oldKey, "k").id });
    expect((await cli(["secret", "set", "tickets", "--sub", "bob"], { MCPGW_SECRET_KEY: oldKey }, BOB_SECRET)).code).toBe(0);
    const listed = JSON.parse((await cli(["secret", "list", "tickets", "--json"])).stdout) as { subject: string }[];
    expect(listed.map((s) => s.subject)).toEqual(["alice", "bob"]);

    // The row decrypts with the key, to the value (one trailing newline dropped), and only for its own (backend, subject).
    const store = openStore(db);
    try {
      const row = (await store.subjectSecrets.get("tickets", "alice"))!;
      expect(openSecret([parseKey(oldKey, "k")], "tickets", "alice", row)).toBe(ALICE_SECRET);
      expect(() => openSecret([parseKey(oldKey, "k")], "tickets", "bob", row)).toThrow(/copied from another backend or subject/);
    } finally {
      await store.close();
    }
  }, 60_000);

  test("serve: calls carry the secret, survive a restart; a missing one is a clear error; rekey moves every row to the new key", async () => {
    let running = await serve({ MCPGW_SECRET_KEY: oldKey });
    try {
      expect(await whoami(running.base, aliceToken)).toBe(`Bearer ${ALICE_SECRET}`);
      const missing = await whoami(running.base, carolToken);
      expect(missing).toContain('none is stored for subject "carol": an operator must run: mcpgw secret set tickets --sub carol');
      printed.push(missing);
    } finally {
      await stop(running);
    }
    // A restart: the secret is in the database, not in the process.
    running = await serve({ MCPGW_SECRET_KEY: oldKey });
    try {
      expect(await whoami(running.base, aliceToken)).toBe(`Bearer ${ALICE_SECRET}`);
    } finally {
      await stop(running);
    }

    // mcpgw call --as: the CLI's own admission path reads the secret too. (Not kept in `printed`: whoami echoes it.)
    const call = await runCli(["--db", db, "call", "tickets/whoami", "{}", "--as", "alice"], { env: { MCPGW_SECRET_KEY: oldKey } });
    expect(call.code, call.stderr).toBe(0);
    expect(call.stdout).toContain(`Bearer ${ALICE_SECRET}`);

    // Rotation, step 1: gateways get the new key and keep the old one to decrypt: calls go on before the rekey.
    running = await serve({ MCPGW_SECRET_KEY: key2, MCPGW_SECRET_KEY_OLD: oldKey });
    try {
      expect(await whoami(running.base, aliceToken)).toBe(`Bearer ${ALICE_SECRET}`);
    } finally {
      await stop(running);
    }
    // Step 2: the new key, with the old one to decrypt.
    const rekey = await cli(["secret", "rekey", "--json"], { MCPGW_SECRET_KEY: key2, MCPGW_SECRET_KEY_OLD: oldKey });
    expect(rekey.code, rekey.stderr).toBe(0);
    expect(JSON.parse(rekey.stdout)).toEqual({ rekeyed: 2, current: 0, keyId: parseKey(key2, "k").id });
    expect(JSON.parse((await cli(["secret", "rekey", "--json"], { MCPGW_SECRET_KEY: key2 })).stdout)).toMatchObject({ rekeyed: 0, current: 2 });
    const store = openStore(db);
    try {
      const row = (await store.subjectSecrets.get("tickets", "alice"))!;
      expect(() => openSecret([parseKey(oldKey, "k")], "tickets", "alice", row)).toThrow(/not configured/);
      expect(openSecret([parseKey(key2, "k")], "tickets", "alice", row)).toBe(ALICE_SECRET);
    } finally {
      await store.close();
    }
    // A gateway that still has only the old key cannot decrypt, and says so; with the new one calls go on.
    running = await serve({ MCPGW_SECRET_KEY: oldKey });
    try {
      const stale = await whoami(running.base, aliceToken);
      expect(stale).toMatch(/encrypted with key [0-9a-f]{16}, which is not configured/);
      printed.push(stale);
    } finally {
      await stop(running);
    }
    running = await serve({ MCPGW_SECRET_KEY: key2 });
    try {
      expect(await whoami(running.base, aliceToken)).toBe(`Bearer ${ALICE_SECRET}`);
    } finally {
      await stop(running);
    }
  }, 120_000);

  test("the values appear nowhere: database files, logs, audit rows and exports, --json outputs, error messages", async () => {
    const audit = await cli(["audit", "tail", "-n", "100", "--json"]);
    expect(audit.code, audit.stderr).toBe(0);
    const records = audit.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { subject: string; credential: string | null; status: string; errorMessage: string | null });
    expect(records.filter((r) => r.subject === "alice").every((r) => r.credential === "per-subject-secret")).toBe(true);
    expect(records.find((r) => r.subject === "carol")).toMatchObject({ status: "error", credential: "per-subject-secret" });
    await cli(["audit", "export", "--format", "csv"]);
    await cli(["audit", "export", "--format", "jsonl"]);
    await cli(["secret", "list"]);
    await cli(["backend", "show", "tickets", "--json"]);
    expect((await cli(["audit", "verify"])).code).toBe(0);

    const files = readdirSync(dir.path).filter((name) => name.startsWith("gw.db"));
    expect(files).toContain("gw.db");
    const haystacks = [...files.map((name) => readFileSync(join(dir.path, name)).toString("latin1")), ...printed];
    expect(printed.join("").length).toBeGreaterThan(10_000);
    for (const text of haystacks) {
      for (const value of [ALICE_SECRET, BOB_SECRET]) {
        expect(text).not.toContain(value);
        expect(text).not.toContain(Buffer.from(value).toString("base64"));
      }
    }
  }, 60_000);
});
