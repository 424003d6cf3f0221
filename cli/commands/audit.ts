import { createWriteStream } from "node:fs";
import type { Writable } from "node:stream";
import type { AuditFilter, AuditRecordStatus, AuditRow } from "../../src/audit/audit-record.ts";
import { currentHeads, followRecords } from "../../src/audit/follow.ts";
import { executePrune, planPrune } from "../../src/audit/prune.ts";
import { CSV_HEADER, csvLine, humanLine, jsonLine } from "../../src/audit/record-view.ts";
import { parseTimeBound } from "../../src/audit/time-bound.ts";
import { type ChainReport, verifyAllChains } from "../../src/audit/verify-chains.ts";
import { McpgwError, UsageError, describeError } from "../../src/errors.ts";
import { type CommandContext, withStore } from "../context.ts";
import { type Progress, progress } from "../progress.ts";

/** How often `tail -f` looks for new records: a new call shows within about this long after it ends. */
const FOLLOW_POLL_MS = 250;
const EXPORT_PAGE = 1_000;
const MAX_LINES = 10_000;

interface TailOptions {
  follow?: boolean;
  lines?: string;
  sub?: string;
  tool?: string;
  status?: string;
  since?: string;
  json?: boolean;
}

/** `mcpgw audit tail`: the last N records, oldest first, then (with -f) each record as its call ends. */
export async function runAuditTail(context: CommandContext, options: TailOptions): Promise<void> {
  const lines = parseLines(options.lines);
  const filter: AuditFilter = {
    ...(options.sub !== undefined && { subject: options.sub }),
    ...(options.tool !== undefined && { tool: options.tool }),
    ...(options.status !== undefined && { status: options.status as AuditRecordStatus }),
    ...(options.since !== undefined && { since: parseTimeBound(options.since, "--since", Date.now()) }),
  };
  if (options.follow && filter.status === "pending") {
    throw new UsageError(
      "--status pending cannot be followed: -f prints records when their calls end",
      "drop -f to list the calls in flight, or pick another --status",
    );
  }
  const colour = !options.json && process.stdout.isTTY === true && process.env.NO_COLOR === undefined;
  const print = (row: AuditRow) => process.stdout.write(options.json ? jsonLine(row) : humanLine(row, colour));

  await withStore(context, async (store) => {
    // Heads first, then the snapshot: a call ending in between is printed twice rather than never.
    const heads = options.follow ? await currentHeads(store.audit) : undefined;
    const recent = (await store.audit.list({ filter, limit: lines, newestFirst: true })).reverse();
    const shown = new Map<number, string>();
    for (const row of recent) {
      print(row);
      if (row.id !== undefined) shown.set(row.id, row.status);
    }
    if (!heads) {
      if (recent.length === 0 && !options.json) process.stderr.write("no audit records match\n");
      return;
    }
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    try {
      for await (const row of followRecords(store.audit, filter, heads, { pollMs: FOLLOW_POLL_MS, signal: stop.signal })) {
        // Already printed, in the same state, by the snapshot.
        if (row.id !== undefined && shown.get(row.id) === row.status) continue;
        print(row);
      }
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
  });
}

/** `mcpgw audit verify`: one line per chain; exit 1 when any chain is broken. */
export async function runAuditVerify(context: CommandContext, options: { json?: boolean }): Promise<void> {
  const reports = await withStore(context, (store) => verifyAllChains(store.audit, options.json ? undefined : (report) => console.log(verifyLine(report))));
  const broken = reports.filter((report) => !report.ok);
  if (options.json) console.log(JSON.stringify({ ok: broken.length === 0, chains: reports }, null, 2));
  else if (reports.length === 0) console.log("no audit records yet: nothing to verify");
  else console.log(`${reports.length} chain${reports.length === 1 ? "" : "s"} checked, ${broken.length} broken`);
  if (broken.length > 0) {
    throw new McpgwError(
      `the audit log failed verification: ${broken.length} of ${reports.length} chains are broken`,
      "the first break of each chain is shown above; records there were altered, deleted or reordered after they were written",
    );
  }
}

function verifyLine(report: ChainReport): string {
  const span = report.events === 0 ? "no events" : `${report.events} events, seq ${report.from + 1}–${report.to}`;
  const checkpoint = report.from > 0 ? ` (from prune checkpoint at seq ${report.from})` : "";
  if (report.ok) return `ok      ${report.chainId}  ${span}${checkpoint}`;
  const fault = report.break!;
  const request = fault.requestId ? ` [request ${fault.requestId}]` : "";
  return `BROKEN  ${report.chainId}  at seq ${fault.seq}: ${fault.problem}: ${fault.detail}${request}${checkpoint}`;
}

/** `mcpgw audit export`: every matching record, oldest first, one page in memory at a time. */
export interface ExportOptions {
  format: "jsonl" | "csv";
  since?: string;
  until?: string;
  sub?: string;
  backend?: string;
  tool?: string;
  status?: string;
  out?: string;
}

export async function runAuditExport(context: CommandContext, options: ExportOptions): Promise<void> {
  const now = Date.now();
  const filter: AuditFilter = {
    ...(options.since !== undefined && { since: parseTimeBound(options.since, "--since", now) }),
    ...(options.until !== undefined && { until: parseTimeBound(options.until, "--until", now) }),
    ...(options.sub !== undefined && { subject: options.sub }),
    ...(options.backend !== undefined && { backend: options.backend }),
    ...(options.tool !== undefined && { tool: options.tool }),
    ...(options.status !== undefined && { status: options.status as AuditRecordStatus }),
  };
  if (filter.since !== undefined && filter.until !== undefined && filter.until <= filter.since) {
    throw new UsageError(`--until ${options.until} is not after --since ${options.since}`, "give --until a later time than --since, or leave one out");
  }
  const format = options.format === "csv" ? csvLine : jsonLine;
  // The file is opened before the database is read: a bad --out fails at once.
  const output = options.out !== undefined ? await openFile(options.out) : process.stdout;
  let written = 0;
  let shown: Progress | undefined;
  try {
    await withStore(context, async (store) => {
      shown = progress("records", await store.audit.count(filter));
      if (options.format === "csv") await write(output, CSV_HEADER);
      let after: { ts: number; id: number } | undefined;
      for (;;) {
        const page = await store.audit.list({ filter, limit: EXPORT_PAGE, ...(after && { after }) });
        if (page.length === 0) break;
        await write(output, page.map(format).join(""));
        written += page.length;
        const last = page.at(-1)!;
        after = { ts: Number(last.ts), id: Number(last.id) };
        shown.update(written);
        if (page.length < EXPORT_PAGE) break;
      }
    });
  } finally {
    shown?.finish(written);
    if (output !== process.stdout) await closeFile(output);
  }
  if (options.out !== undefined) process.stderr.write(`exported ${written} records to ${options.out}\n`);
}

/** `mcpgw audit prune --before WHEN`: removes old records chain by chain, leaving checkpoints. */
export async function runAuditPrune(context: CommandContext, options: { before: string; yes?: boolean }): Promise<void> {
  const now = Date.now();
  const before = parseTimeBound(options.before, "--before", now);
  if (before > now) throw new UsageError(`--before ${options.before} is in the future`, "give a past date or a duration ago, e.g. --before 90d");
  if (!options.yes && !process.stdin.isTTY) {
    throw new UsageError("audit prune deletes records and stdin is not a terminal to confirm on", "pass --yes to prune without a prompt");
  }
  await withStore(context, async (store) => {
    const steps = await planPrune(store.audit, before);
    const records = steps.reduce((sum, step) => sum + step.records, 0);
    const when = new Date(before).toISOString();
    if (steps.length === 0) {
      console.log(`nothing to prune: no chain has records that finished before ${when} (open calls, and records after them, are kept)`);
      return;
    }
    if (!options.yes) {
      const { confirm } = await import("@inquirer/prompts");
      const go = await confirm({ message: `Delete ${records} audit records finished before ${when}, from ${steps.length} chains?`, default: false });
      if (!go) {
        console.log("nothing pruned");
        return;
      }
    }
    const done = await executePrune(store.audit, steps, before, now);
    console.log(
      `pruned ${done.records} records finished before ${when} from ${done.chains} chain${done.chains === 1 ? "" : "s"}; checkpoints recorded, so audit verify still passes`,
    );
  });
}

function parseLines(text: string | undefined): number {
  if (text === undefined) return 20;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > MAX_LINES) throw new UsageError(`-n: "${text}" is not a number of records from 0 to ${MAX_LINES}`, "use e.g. -n 50");
  return n;
}

async function openFile(path: string): Promise<Writable> {
  const stream = createWriteStream(path);
  await new Promise<void>((resolve, reject) => {
    stream.once("open", () => resolve());
    stream.once("error", (err) =>
      reject(new McpgwError(`cannot write ${path}: ${describeError(err)}`, "check the folder exists and is writable, or choose another --out")),
    );
  });
  return stream;
}

/** Writes with backpressure: waits for 'drain' when the stream's buffer is full, so memory stays flat. */
function write(stream: Writable, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) =>
      reject(new McpgwError(`cannot write the export: ${describeError(err)}`, "check the disk has space and the file is writable"));
    stream.once("error", onError);
    const settle = () => {
      stream.off("error", onError);
      resolve();
    };
    if (stream.write(text)) settle();
    else stream.once("drain", settle);
  });
}

function closeFile(stream: Writable): Promise<void> {
  return new Promise((resolve) => stream.end(() => resolve()));
}
