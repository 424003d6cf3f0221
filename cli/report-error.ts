import { CommanderError } from "commander";
import { McpgwError, describeError } from "../src/errors.ts";
import { asInvoked } from "./program-name.ts";

/** Commander codes that are not failures: help or version was asked for. */
const BENIGN = new Set(["commander.helpDisplayed", "commander.help", "commander.version", "commander.executeSubCommandAsync"]);

/**
 * An error already reported where its command reports (serve's structured log): it only sets the
 * exit code. `mcpgw serve` logs a failure to start as one log line, which log collectors parse,
 * instead of a message on stderr.
 */
export class ReportedError extends Error {
  constructor(readonly exitCode: 1 | 2) {
    super("reported");
  }
}

/**
 * The one place that turns a thrown error into what a person sees and an exit code:
 * 0 ok, 1 failure, 2 usage. Stack traces only when asked for (--log-level debug|trace).
 */
export function reportError(err: unknown, options: { showStack: boolean }): number {
  if (err instanceof CommanderError) {
    // Commander has already printed its message and the help hint.
    return BENIGN.has(err.code) ? 0 : 2;
  }
  if (err instanceof ReportedError) return err.exitCode;
  if (err instanceof McpgwError) {
    process.stderr.write(`error: ${err.message}\n`);
    if (err.hint) process.stderr.write(`  → ${asInvoked(err.hint)}\n`);
    if (options.showStack && err.stack) process.stderr.write(`${err.stack}\n`);
    return err.exitCode;
  }
  process.stderr.write(`error: ${describeError(err)}\n`);
  process.stderr.write(
    options.showStack && err instanceof Error && err.stack
      ? `${err.stack}\n`
      : "  → this is unexpected: run again with --log-level debug for details, and report it if it persists\n",
  );
  return 1;
}
