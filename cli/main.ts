#!/usr/bin/env bun
import { readEnv } from "../src/config/env.ts";
import { buildProgram } from "./program.ts";
import { reportError } from "./report-error.ts";

/** Entry point of the mcpgw binary: runs the command, maps any error to an exit code. */
async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (err) {
    return reportError(err, { showStack: wantsStack(argv) });
  }
}

process.exitCode = await main(process.argv);

/** --log-level debug|trace (flag or MCPGW_LOG_LEVEL) asks for stack traces; read from argv because parsing may be what failed. */
function wantsStack(argv: string[]): boolean {
  const flag = argv.findIndex((arg) => arg === "--log-level" || arg.startsWith("--log-level="));
  const level = flag < 0 ? envLogLevel() : argv[flag]!.includes("=") ? argv[flag]!.split("=")[1] : argv[flag + 1];
  return level === "debug" || level === "trace";
}

/** MCPGW_LOG_LEVEL; a malformed .env may be the error being reported, so then the real environment alone answers. */
function envLogLevel(): string | undefined {
  try {
    return readEnv().logLevel;
  } catch {
    return readEnv(process.env).logLevel;
  }
}
