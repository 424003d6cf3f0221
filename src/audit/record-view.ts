import type { AuditRecordStatus, AuditRow } from "./audit-record.ts";

/** A record as scripts see it (tail --json, export jsonl): times as ISO strings, JSON fields parsed. */
export interface AuditRecordView {
  time: string;
  finishedAt: string | null;
  status: AuditRecordStatus;
  subject: string | null;
  roles: string[];
  method: string;
  backend: string | null;
  target: string | null;
  requestId: string | null;
  sessionId: string | null;
  /** The MCP protocol version the call used; null on records written before it was recorded. */
  protocolVersion: string | null;
  /** The input_required exchange the record is a round of (2026-07-28 clients); null when none. */
  exchange: string | null;
  /** The credential mode the call reached its backend with (static, gateway-assertion, per-subject-secret…); null when none was recorded. */
  credential: string | null;
  /** Which credential of that mode: a per-subject secret's id, an exchanged token's or an assertion's jti; never a value. */
  credentialId: string | null;
  client: { name: string | null; version: string | null } | null;
  arguments: unknown;
  errorCode: number | null;
  errorMessage: string | null;
  durationMs: number | null;
  bytesIn: number | null;
  bytesOut: number | null;
  decision: string | null;
  rule: string | null;
  kind: string;
  /** Where the record sits in the hash chain, so an export can be checked against a later verify. */
  chain: { id: string; seq: number; prevHash: string; hash: string; outcomeSeq: number | null; outcomePrevHash: string | null; outcomeHash: string | null };
}

function parseJson(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(Number(ms)).toISOString();
}

export function recordView(row: AuditRow): AuditRecordView {
  const roles = parseJson(row.roles);
  return {
    time: iso(row.ts)!,
    finishedAt: iso(row.finishedAt),
    status: row.status,
    subject: row.subject,
    roles: Array.isArray(roles) ? roles.map(String) : [],
    method: row.method,
    backend: row.backend,
    target: row.target,
    requestId: row.requestId,
    sessionId: row.sessionId,
    protocolVersion: row.protocolVersion,
    exchange: row.exchange,
    credential: row.credential,
    credentialId: row.credentialId ?? null,
    client: row.clientName === null && row.clientVersion === null ? null : { name: row.clientName, version: row.clientVersion },
    arguments: parseJson(row.arguments),
    errorCode: row.errorCode,
    errorMessage: row.errorMessage,
    durationMs: row.durationMs,
    bytesIn: row.bytesIn,
    bytesOut: row.bytesOut,
    decision: row.decision,
    rule: row.rule,
    kind: row.kind,
    chain: {
      id: row.chainId,
      seq: row.seq,
      prevHash: row.prevHash,
      hash: row.hash,
      outcomeSeq: row.outcomeSeq,
      outcomePrevHash: row.outcomePrevHash,
      outcomeHash: row.outcomeHash,
    },
  };
}

/** One JSON line (tail --json, export --format jsonl). */
export function jsonLine(row: AuditRow): string {
  return `${JSON.stringify(recordView(row))}\n`;
}

const CSV_COLUMNS: [string, (row: AuditRow) => unknown][] = [
  ["time", (r) => iso(r.ts)],
  ["finished_at", (r) => iso(r.finishedAt)],
  ["status", (r) => r.status],
  ["subject", (r) => r.subject],
  ["roles", (r) => (parseJson(r.roles) as string[] | null)?.join(" ") ?? ""],
  ["method", (r) => r.method],
  ["backend", (r) => r.backend],
  ["target", (r) => r.target],
  ["request_id", (r) => r.requestId],
  ["session_id", (r) => r.sessionId],
  ["protocol_version", (r) => r.protocolVersion],
  ["client_name", (r) => r.clientName],
  ["client_version", (r) => r.clientVersion],
  ["arguments", (r) => r.arguments],
  ["error_code", (r) => r.errorCode],
  ["error_message", (r) => r.errorMessage],
  ["duration_ms", (r) => r.durationMs],
  ["bytes_in", (r) => r.bytesIn],
  ["bytes_out", (r) => r.bytesOut],
  ["decision", (r) => r.decision],
  ["rule", (r) => r.rule],
  ["kind", (r) => r.kind],
  ["chain_id", (r) => r.chainId],
  ["seq", (r) => r.seq],
  ["prev_hash", (r) => r.prevHash],
  ["hash", (r) => r.hash],
  ["outcome_seq", (r) => r.outcomeSeq],
  ["outcome_prev_hash", (r) => r.outcomePrevHash],
  ["outcome_hash", (r) => r.outcomeHash],
  // Columns added later go last, so scripts that read columns by position keep working.
  ["exchange", (r) => r.exchange],
  ["credential", (r) => r.credential],
  ["credential_id", (r) => r.credentialId],
];

export const CSV_HEADER = `${CSV_COLUMNS.map(([name]) => name).join(",")}\r\n`;

/**
 * One CSV row (RFC 4180). Text that a spreadsheet would run as a formula (=, +, -, @ first) gets a
 * leading apostrophe: arguments and messages come from callers, and exports get opened in Excel.
 */
export function csvLine(row: AuditRow): string {
  return `${CSV_COLUMNS.map(([, get]) => csvCell(get(row))).join(",")}\r\n`;
}

function csvCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  let text = String(value);
  if (typeof value === "string" && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

const COLOURS: Record<AuditRecordStatus, string> = {
  ok: "32",
  error: "31",
  timeout: "31",
  denied: "33",
  rate_limited: "33",
  unauthenticated: "33",
  invalid: "33",
  cancelled: "90",
  incomplete: "35",
  pending: "36",
} satisfies Record<AuditRecordStatus, string>;

const ARGUMENT_PREVIEW = 80;

/** Callers choose these strings: control characters (terminal escapes, newlines) are shown, never obeyed. */
function printable(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => (c === "\n" || c === "\r" ? " " : `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`));
}

/** One readable line for people: time, status, who, what, how long, and the error or the arguments. */
export function humanLine(row: AuditRow, colour: boolean): string {
  const paint = (code: string, text: string) => (colour ? `\x1b[${code}m${text}\x1b[0m` : text);
  const time = new Date(Number(row.ts)).toISOString().replace("T", " ");
  const what = row.backend !== null || row.target !== null ? `${row.backend ?? "?"}/${row.target ?? "?"}` : "-";
  const duration = row.durationMs === null ? "" : `${row.durationMs}ms`;
  let detail = "";
  if (row.errorMessage !== null) detail = `${row.errorCode !== null ? `${row.errorCode} ` : ""}${row.errorMessage}`;
  else if (row.arguments !== null) detail = row.arguments.length > ARGUMENT_PREVIEW ? `${row.arguments.slice(0, ARGUMENT_PREVIEW)}…` : row.arguments;
  const cells = [
    paint("90", time),
    paint(COLOURS[row.status] ?? "0", row.status.padEnd(15)),
    printable(row.subject ?? "-").padEnd(12),
    printable(row.method).padEnd(14),
    printable(what),
    duration,
    printable(detail),
  ];
  return `${cells.filter((cell) => cell !== "").join("  ")}\n`;
}
