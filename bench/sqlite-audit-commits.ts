/**
 * The floor under the write-ahead audit on SQLite: bare bun:sqlite commits with the gateway's schema and its
 * statements (sql-audit-statements.ts), no gateway code. Each commit is what a group commit of the store
 * auditor writes: the chain head's compare-and-set UPDATE, N call records, and the previous commit's N
 * outcomes, in one BEGIN IMMEDIATE … COMMIT (WAL, synchronous=NORMAL, as src/store/sqlite-driver.ts opens
 * the database). The rows are built before the clock starts, with the store auditor's own row builder. Prints
 * the CPU per call (user and system) of this process: what any gateway keeping these records durable before
 * forwarding pays per call at that batch size, before its own work.
 *
 *   bun bench/sqlite-audit-commits.ts [--calls-per-commit 6] [--commits 4000]
 */
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { APPEND_OUTCOME_ONE, INSERT_FIELDS, INSERT_ONE, MOVE_LIVE_HEAD, OUTCOME_COLUMNS, insertValue } from "../src/store/sql-audit-statements.ts";
import { openStore } from "../src/store/open-store.ts";
import { toSqlite } from "../src/store/sqlite-driver.ts";
import type { AuditOutcomeEvent, AuditRow } from "../src/audit/audit-record.ts";
import { AuditRowBuilder } from "../src/audit/audit-row.ts";
import type { AuditContext } from "../src/audit/auditor.ts";
import { createRedactor } from "../src/audit/redact.ts";
import { AUDIT_DEFAULTS } from "../src/config/audit-settings.ts";

const { values } = parseArgs({ options: { "calls-per-commit": { type: "string", default: "6" }, commits: { type: "string", default: "4000" } } });
const perCommit = Number(values["calls-per-commit"]);
const commits = Number(values.commits);

const dir = mkdtempSync(join(tmpdir(), "mcpgw-sqlite-audit-"));
const path = join(dir, "audit.db");
const chainId = `bench-${crypto.randomUUID()}`;
const HASH = "0".repeat(64);
const store = openStore(`sqlite:${path}`);
await store.migrate();
const now = Date.now();
await store.audit.createChain({
  chainId,
  instance: "bench",
  host: "bench",
  pid: process.pid,
  startedAt: now,
  heartbeatAt: now,
  endedAt: null,
  headSeq: 0,
  headHash: HASH,
});
await store.close();
const db = new Database(path);
db.exec("PRAGMA journal_mode = WAL");
db.exec("PRAGMA synchronous = NORMAL");
// The store's own statements, prepared as its SQLite driver prepares them ($N as SQLite's numbered ?N).
const insertRecord = db.prepare(toSqlite(INSERT_ONE));
const appendOutcome = db.prepare(toSqlite(APPEND_OUTCOME_ONE));
const moveHead = db.prepare(toSqlite(MOVE_LIVE_HEAD));

/** Rows as the store auditor builds them (its own builder, redaction included) for the bench's relayed tools/call. */
const rows = new AuditRowBuilder(createRedactor({ keys: AUDIT_DEFAULTS.redactKeys, maxArgumentBytes: AUDIT_DEFAULTS.argumentsMaxBytes }));
const context: AuditContext = {
  requestId: "1",
  sessionId: crypto.randomUUID(),
  protocolVersion: "2025-11-25",
  subject: "bench-load",
  roles: ["all"],
  clientName: "mcpgw-bench-load",
  clientVersion: "1.0.0",
  backend: "stdio-echo",
  target: "echo",
  method: "tools/call",
  arguments: { text: "hello" },
  bytesIn: 90,
};

/** The batches, built before the clock starts: N records and the previous batch's N outcomes each. */
let seq = 0;
let unfinished: number[] = [];
const batches = Array.from({ length: commits }, () => {
  const fromSeq = seq;
  const records: AuditRow[] = Array.from({ length: perCommit }, () => ({
    ...rows.call(context, Date.now()),
    id: 0,
    chainId,
    seq: ++seq,
    prevHash: HASH,
    hash: HASH,
    outcomeSeq: null,
    outcomePrevHash: null,
    outcomeHash: null,
    credentialId: null,
  }));
  const outcomes: AuditOutcomeEvent[] = unfinished.map((callSeq) => ({
    ...rows.outcome({ status: "ok", bytesOut: 60 }, 1, Date.now()),
    seq: callSeq,
    outcomeSeq: ++seq,
    outcomePrevHash: HASH,
    outcomeHash: HASH,
  }));
  unfinished = records.map((row) => row.seq);
  return { fromSeq, toSeq: seq, records, outcomes };
});

const started = process.cpuUsage();
for (const { fromSeq, toSeq, records, outcomes } of batches) {
  db.exec("BEGIN IMMEDIATE");
  if (moveHead.run(toSeq, HASH, Date.now(), null, chainId, fromSeq, records.length - outcomes.length).changes !== 1)
    throw new Error(`the chain head is not at ${fromSeq}`);
  for (const row of records) insertRecord.run(...INSERT_FIELDS.map(([field]) => insertValue(row, field)));
  for (const event of outcomes) appendOutcome.run(chainId, ...OUTCOME_COLUMNS.map(([, , value]) => value(event)));
  db.exec("COMMIT");
}
const cpu = process.cpuUsage(started);
const calls = commits * perCommit;
console.log(
  `bare bun:sqlite audit commits (Bun ${Bun.version}), ${perCommit} records and ${perCommit} outcomes per commit, ${commits} commits: ` +
    `${((cpu.user + cpu.system) / calls).toFixed(1)} µs CPU per call (user ${(cpu.user / calls).toFixed(1)}, system ${(cpu.system / calls).toFixed(1)})`,
);
db.close();
rmSync(dir, { recursive: true, force: true });
