import pino, { type Logger } from "pino";
import type { LogLevel } from "../config/settings.ts";

export type { Logger } from "pino";

export interface LoggerOptions {
  level: LogLevel;
  /** 1 = stdout (the gateway), 2 = stderr (admin commands, so their stdout stays clean for --json). */
  fd?: 1 | 2;
  /** Human-readable lines instead of JSON; only ever on a TTY. */
  pretty?: boolean;
}

/**
 * JSON lines through an in-thread destination (pino transports run in worker threads, which break
 * inside a compiled binary, so none are used): stdout written in batches for the gateway,
 * stderr written synchronously for admin commands.
 */
export function createLogger(options: LoggerOptions): Logger {
  const fd = options.fd ?? 1;
  const base = { level: options.level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime };
  if (options.pretty) return pino(base, { write: (line: string) => writePretty(fd, line) });
  return pino(base, fd === 1 ? batchedStdout() : pino.destination({ fd, sync: true }));
}

/** How long a log line may wait to be written, at most (a SIGKILL loses at most that much of the log). */
const FLUSH_MS = 10;

/**
 * stdout for the gateway's JSON lines: gathered in Bun's FileSink and written at most FLUSH_MS
 * after the first of them, so that the lines of every call answered meanwhile share one write.
 * pino's own asynchronous destination wrote each line on its own: at the default level (a line
 * per call) the line cost 12.5–14.6 µs of a relayed call's CPU that way, 7–8 µs this way
 * (docs/relay.md). Bun writes what is left at exit. Logging never fails the gateway: a stdout
 * that is gone (EPIPE) loses the lines, nothing else.
 */
function batchedStdout(): { write(line: string): void } {
  const sink = Bun.stdout.writer();
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    try {
      const pending = sink.flush();
      if (pending instanceof Promise) pending.catch(() => undefined);
    } catch {
      // stdout is closed: there is nowhere to write
    }
  };
  return {
    write(line: string) {
      try {
        sink.write(line);
      } catch {
        return;
      }
      if (scheduled) return;
      scheduled = true;
      setTimeout(flush, FLUSH_MS);
    },
  };
}

const LEVEL_NAMES: Record<number, string> = { 10: "TRACE", 20: "DEBUG", 30: "INFO", 40: "WARN", 50: "ERROR", 60: "FATAL" };
const LEVEL_COLOURS: Record<number, string> = { 10: "90", 20: "36", 30: "32", 40: "33", 50: "31", 60: "35" };
const OMITTED = new Set(["level", "time", "msg", "pid", "hostname"]);

/** A small pretty printer for TTYs: "12:00:01 INFO  message key=value". */
function writePretty(fd: 1 | 2, line: string): void {
  const record = JSON.parse(line) as Record<string, unknown> & { level: number; time: string; msg?: string };
  const time = String(record.time).slice(11, 19);
  const level = `\x1b[${LEVEL_COLOURS[record.level] ?? "0"}m${(LEVEL_NAMES[record.level] ?? "LOG").padEnd(5)}\x1b[0m`;
  const extras = Object.entries(record)
    .filter(([key]) => !OMITTED.has(key))
    .map(([key, value]) => `\x1b[90m${key}=\x1b[0m${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join(" ");
  const text = `${time} ${level} ${record.msg ?? ""}${extras ? ` ${extras}` : ""}\n`;
  if (fd === 1) process.stdout.write(text);
  else process.stderr.write(text);
}
