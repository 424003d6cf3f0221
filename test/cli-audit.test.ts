import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { REPO_ROOT, cleanEnv, runCli, type CliResult } from "./helpers/cli.ts";
import { TestChain } from "./audit-repository.contract.ts";
import { AUDIT_STORES, type AuditStoreFixture, sqliteAuditStore } from "./helpers/audit-stores.ts";
import { tempDir } from "./helpers/temp-dir.ts";

const HOUR = 3_600_000;
const NO_STACK = /^\s+at .+:\d+:\d+\)?$/m;

/**
 * The records every test of a store sees (oldest first):
 *   old    alice  lab/echo          ok       2 days ago
 *   a1     alice  lab/echo          ok       protocol 2025-06-18 (the others were written without one)
 *   b1     bob    github/read_file  error
 *   c1     carol  github/delete_repo denied (refusal)
 *   d1     dave   lab/sleep         pending
 *   f1     =SUM(A1) lab/echo        ok       a subject a spreadsheet would run as a formula
 */
async function seed(fixture: AuditStoreFixture): Promise<TestChain> {
  const now = Date.now();
  const chain = await new TestChain(fixture.store).open();
  await chain.append(
    [
      { kind: "call", id: "old", subject: "alice", ts: now - 48 * HOUR },
      { kind: "outcome", id: "old", finishedAt: now - 48 * HOUR },
    ],
    now - 48 * HOUR,
  );
  await chain.append([
    { kind: "call", id: "a1", subject: "alice", ts: now - 3_000, arguments: { text: "hello" }, protocolVersion: "2025-06-18" },
    { kind: "call", id: "b1", subject: "bob", backend: "github", target: "read_file", ts: now - 2_000 },
    { kind: "refusal", id: "c1", subject: "carol", backend: "github", target: "delete_repo", ts: now - 1_500, status: "denied" },
    { kind: "call", id: "d1", subject: "dave", target: "sleep", ts: now - 1_000 },
    { kind: "call", id: "f1", subject: "=SUM(A1)", ts: now - 500 },
  ]);
  await chain.append([
    { kind: "outcome", id: "a1" },
    { kind: "outcome", id: "b1", status: "error" },
    { kind: "outcome", id: "f1" },
  ]);
  return chain;
}

for (const [label, setup] of AUDIT_STORES) {
  describe(`mcpgw audit (${label})`, () => {
    let fixture: AuditStoreFixture | undefined;
    let chain: TestChain;
    const cli = (...args: string[]): Promise<CliResult> => runCli(["--db", fixture!.url, ...args]);
    const requestIds = (result: CliResult) =>
      result.stdout
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((line) => (JSON.parse(line) as { requestId: string }).requestId);

    beforeAll(async () => {
      fixture = await setup();
      if (fixture) chain = await seed(fixture);
    });
    afterAll(async () => fixture?.cleanup());

    test("tail prints one readable line per record, oldest first, without colour when not a terminal", async (context) => {
      if (!fixture) return context.skip();
      const result = await cli("audit", "tail");
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).not.toContain("\x1b[");
      const lines = result.stdout.trimEnd().split("\n");
      expect(lines).toHaveLength(6);
      expect(lines[1]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z\s+ok\s+alice\s+tools\/call\s+lab\/echo\s+3ms\s+\{"text":"hello"\}$/);
      expect(lines[2]).toMatch(/error\s+bob\s+tools\/call\s+github\/read_file\s+3ms/);
      expect(lines[3]).toMatch(/denied\s+carol\s+tools\/call\s+github\/delete_repo\s+no$/);
      expect(lines[4]).toMatch(/pending\s+dave\s+tools\/call\s+lab\/sleep/);
      expect((await cli("audit", "tail", "-n", "2")).stdout.trimEnd().split("\n")).toHaveLength(2);
    });

    test("tail --json is JSON lines; --sub, --tool, --status and --since filter", async (context) => {
      if (!fixture) return context.skip();
      const all = await cli("audit", "tail", "--json");
      expect(all.code).toBe(0);
      const first = JSON.parse(all.stdout.split("\n")[1]!) as Record<string, unknown>;
      expect(first).toMatchObject({
        requestId: "a1",
        status: "ok",
        subject: "alice",
        roles: ["dev"],
        method: "tools/call",
        backend: "lab",
        target: "echo",
        arguments: { text: "hello" },
        client: { name: "client", version: "1.0" },
        durationMs: 3,
        kind: "call",
        chain: { id: chain.chainId, seq: 3, outcomeSeq: 8 },
        protocolVersion: "2025-06-18",
      });
      expect(JSON.parse(all.stdout.split("\n")[0]!)).toMatchObject({ requestId: "old", protocolVersion: null });
      expect(new Date(first.time as string).getTime()).toBeGreaterThan(Date.now() - HOUR);
      expect(requestIds(await cli("audit", "tail", "--json", "--sub", "alice"))).toEqual(["old", "a1"]);
      expect(requestIds(await cli("audit", "tail", "--json", "--tool", "github/*"))).toEqual(["b1", "c1"]);
      expect(requestIds(await cli("audit", "tail", "--json", "--tool", "Read_*"))).toEqual(["b1"]);
      expect(requestIds(await cli("audit", "tail", "--json", "--status", "denied"))).toEqual(["c1"]);
      expect(requestIds(await cli("audit", "tail", "--json", "--status", "pending"))).toEqual(["d1"]);
      expect(requestIds(await cli("audit", "tail", "--json", "--since", "1h"))).toEqual(["a1", "b1", "c1", "d1", "f1"]);
      expect(requestIds(await cli("audit", "tail", "--json", "--since", new Date(Date.now() - 72 * HOUR).toISOString().slice(0, 10)))).toHaveLength(6);
    });

    test.each([
      [["audit", "tail", "-n", "many"], /-n: "many" is not a number of records/],
      [["audit", "tail", "--status", "fine"], /argument 'fine' is invalid.*ok, error, denied/s],
      [["audit", "tail", "--since", "yesterday"], /--since: "yesterday" is neither a duration nor a date/],
      [["audit", "tail", "-f", "--status", "pending"], /--status pending cannot be followed/],
      [["audit", "tail", "--colour"], /unknown option '--colour'/],
      [["audit", "export", "--format", "xml"], /argument 'xml' is invalid.*jsonl, csv/s],
      [["audit", "prune"], /required option '--before <when>' not specified/],
      [["audit", "prune", "--before", "2099-01-01", "--yes"], /--before 2099-01-01 is in the future/],
      [["audit", "prune", "--before", "30d"], /stdin is not a terminal.*\n.*pass --yes/],
    ])("%j is a usage error (exit 2) that says what to do", async (args, message) => {
      if (!fixture) return;
      const result = await cli(...args);
      expect(result.code, result.stdout).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toMatch(NO_STACK);
    });

    test("verify passes on the intact log, then pinpoints an altered record (exit 1)", async (context) => {
      if (!fixture) return context.skip();
      const ok = await cli("audit", "verify");
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toContain(`ok      ${chain.chainId}  10 events, seq 1–10`);
      expect(ok.stdout).toMatch(/1 chain checked, 0 broken/);

      const other = await seed(fixture);
      await fixture.raw("UPDATE audit_events SET subject = 'mallory' WHERE chain_id = $1 AND request_id = 'b1'", [other.chainId]);
      const broken = await cli("audit", "verify");
      expect(broken.code).toBe(1);
      expect(broken.stdout).toContain(`BROKEN  ${other.chainId}  at seq 4: altered: the call record at seq 4 does not match its hash`);
      expect(broken.stdout).toContain("[request b1]");
      expect(broken.stderr).toMatch(/the audit log failed verification: 1 of 2 chains are broken\n.*→ the first break/);
      const json = await cli("audit", "verify", "--json");
      expect(json.code).toBe(1);
      const report = JSON.parse(json.stdout) as { ok: boolean; chains: { chainId: string; ok: boolean; break?: { seq: number; problem: string } }[] };
      expect(report.ok).toBe(false);
      expect(report.chains.find((c) => c.chainId === other.chainId)?.break).toMatchObject({ seq: 4, problem: "altered" });
      await fixture.raw("UPDATE audit_events SET subject = 'bob' WHERE chain_id = $1 AND request_id = 'b1'", [other.chainId]);
      expect((await cli("audit", "verify")).code).toBe(0);
    });

    test("export writes JSON lines or CSV, to stdout or a file, with --since", async (context) => {
      if (!fixture) return context.skip();
      const jsonl = await cli("audit", "export", "--since", "1h");
      expect(jsonl.code, jsonl.stderr).toBe(0);
      const exported = jsonl.stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as { requestId: string; chain: { id: string; hash: string } });
      // Oldest first; the verify test's second chain may interleave by time, so look at this chain alone.
      expect(exported.filter((r) => r.chain.id === chain.chainId).map((r) => r.requestId)).toEqual(["a1", "b1", "c1", "d1", "f1"]);
      expect(exported[0]!.chain.hash).toMatch(/^[0-9a-f]{64}$/);

      const dir = tempDir();
      try {
        const out = join(dir.path, "audit.csv");
        const csv = await cli("audit", "export", "--format", "csv", "--out", out);
        expect(csv.code, csv.stderr).toBe(0);
        expect(csv.stdout).toBe("");
        expect(csv.stderr).toMatch(/exported \d+ records to .*audit\.csv/);
        const lines = readFileSync(out, "utf8").split("\r\n");
        expect(lines[0]).toMatch(/^time,finished_at,status,subject,roles,method,backend,target,request_id,session_id,protocol_version,/);
        expect(lines.find((line) => line.includes(",a1,"))).toContain(',a1,s1,2025-06-18,client,1.0,"{""text"":""hello""}",');
        expect(lines.find((line) => line.includes(",b1,"))).toContain(",b1,s1,,client,");
        // A cell a spreadsheet would run as a formula is defused.
        expect(lines.find((line) => line.includes(",f1,"))).toContain(",'=SUM(A1),");

        const denied = await cli("audit", "export", "--out", join(dir.path, "missing", "x.jsonl"));
        expect(denied.code).toBe(1);
        expect(denied.stderr).toMatch(/error: cannot write .*missing\/x\.jsonl: .*\n.*→ check the folder exists/);
        expect(denied.stderr).not.toMatch(NO_STACK);
      } finally {
        dir.remove();
      }
    });

    test("export filters by --until, --sub, --backend, --tool and --status, and reports progress on stderr", async (context) => {
      if (!fixture) return context.skip();
      const ids = async (...args: string[]) => {
        const result = await cli("audit", "export", "--since", "1h", ...args);
        expect(result.code, result.stderr).toBe(0);
        // This chain alone: the verify test seeds a second chain with the same request ids.
        const rows = result.stdout
          .trim()
          .split("\n")
          .filter(Boolean)
          .map((line) => JSON.parse(line) as { requestId: string; chain: { id: string } });
        return rows.filter((row) => row.chain.id === chain.chainId && row.requestId !== "old").map((row) => row.requestId);
      };
      expect(await ids("--backend", "github")).toEqual(["b1", "c1"]);
      expect(await ids("--backend", "github", "--status", "denied")).toEqual(["c1"]);
      expect(await ids("--sub", "bob")).toEqual(["b1"]);
      expect(await ids("--tool", "*/sleep")).toEqual(["d1"]);
      // Up to d1's start, which is left out (--until is exclusive).
      const all = (await cli("audit", "export", "--since", "1h")).stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as { requestId: string; time: string; chain: { id: string } });
      const d1 = all.find((row) => row.requestId === "d1" && row.chain.id === chain.chainId)!;
      expect(await ids("--until", d1.time)).toEqual(["a1", "b1", "c1"]);
      // Not a terminal: a counter line, the final one with the total.
      const counted = await cli("audit", "export", "--since", "1h", "--backend", "github");
      expect(counted.stderr).toMatch(/^\[#{24}\] {2}100% {2}\d+ of \d+ records {2}[\d,]+\/s {2}in \d+s$/m);
      const backwards = await cli("audit", "export", "--since", "1h", "--until", "2h");
      expect(backwards.code).toBe(2);
      expect(backwards.stderr).toContain("--until 2h is not after --since 1h");
    });

    test("prune removes old finished records, leaves a checkpoint, and verify still passes", async (context) => {
      if (!fixture) return context.skip();
      const pruned = await cli("audit", "prune", "--before", "1d", "--yes");
      expect(pruned.code, pruned.stderr).toBe(0);
      expect(pruned.stdout).toMatch(/pruned \d+ records finished before .* checkpoints recorded, so audit verify still passes/);
      expect(requestIds(await cli("audit", "tail", "--json", "--sub", "alice"))).not.toContain("old");
      const verify = await cli("audit", "verify");
      expect(verify.code, verify.stdout).toBe(0);
      expect(verify.stdout).toMatch(new RegExp(`ok {6}${chain.chainId.replace(".", "\\.")} .*from prune checkpoint at seq 2`));
      const again = await cli("audit", "prune", "--before", "1d", "--yes");
      expect(again.stdout).toMatch(/nothing to prune/);
    });
  });
}

describe("mcpgw audit export keeps memory flat", () => {
  let fixture: AuditStoreFixture;
  const dir = tempDir();

  beforeAll(async () => {
    fixture = await sqliteAuditStore();
  });
  afterAll(async () => {
    await fixture?.cleanup();
    dir.remove();
  });

  /** Peak resident memory of an export run (sampled from /proc), in MiB. */
  async function exportPeakMiB(out: string): Promise<number> {
    const child = Bun.spawn([process.execPath, join(REPO_ROOT, "cli/main.ts"), "--db", fixture.url, "audit", "export", "--out", out], {
      env: cleanEnv(),
      stdout: "ignore",
      stderr: "pipe",
    });
    let peak = 0;
    while (child.exitCode === null) {
      const status = existsSync(`/proc/${child.pid}/status`) ? readFileSync(`/proc/${child.pid}/status`, "utf8") : "";
      const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      peak = Math.max(peak, rss);
      await Bun.sleep(10);
    }
    expect(await child.exited).toBe(0);
    return peak / 1024;
  }

  // The allocator warms up over the first ~30k records (RSS then plateaus while the heap stays
  // flat), so the comparison starts from 40k rather than from a cold process.
  test("40k and 100k records: the peak differs by far less than the data", async (context) => {
    if (!existsSync("/proc/self/status")) return context.skip();
    const chain = await new TestChain(fixture.store).open();
    const filler = "x".repeat(900);
    const add = async (n: number) => {
      for (let i = 0; i < n; i += 1_000)
        await chain.append(Array.from({ length: 1_000 }, (_, j) => ({ kind: "refusal" as const, id: `bulk-${i + j}`, subject: filler })));
    };
    await add(40_000);
    const small = await exportPeakMiB(join(dir.path, "40k.jsonl"));
    await add(60_000);
    const large = await exportPeakMiB(join(dir.path, "100k.jsonl"));
    const exportedMiB = Bun.file(join(dir.path, "100k.jsonl")).size / 1024 / 1024;
    const extraMiB = exportedMiB - Bun.file(join(dir.path, "40k.jsonl")).size / 1024 / 1024;
    expect(readFileSync(join(dir.path, "100k.jsonl"), "utf8").split("\n").filter(Boolean)).toHaveLength(100_000);
    console.log(`export peak RSS: 40k records ${small.toFixed(0)} MiB, 100k records ${large.toFixed(0)} MiB (${exportedMiB.toFixed(0)} MiB written)`);
    // The extra 60k records are ~68 MiB of JSON; holding them as objects would grow the process by
    // several times that. Paging keeps the growth below the extra data itself (measured: 10–40 MiB,
    // RSS being noisy under a busy test run; the heap itself stays flat).
    expect(exportedMiB).toBeGreaterThan(100);
    expect(large - small).toBeLessThan(extraMiB);
  });
});
