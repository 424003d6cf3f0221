import { relative } from "node:path";
import { readEnv } from "../src/config/env.ts";

/**
 * The words that run this program, as the person ran it: the binary's own name for a compiled
 * mcpgw, `npx bun cli/main.ts` (the entry's path from the working directory) in a clone, or
 * MCPGW_PROGRAM_NAME when set (a wrapper: `docker compose run --rm migrate`). Hints that tell
 * someone what to type next use it, so they can be pasted as they are.
 */
export function programName(
  argv: readonly string[] = process.argv,
  cwd: string = process.cwd(),
  configured: string | undefined = readEnv(process.env).programName,
): string {
  if (configured !== undefined) return configured;
  const entry = argv[1] ?? "";
  // A compiled binary's modules live in Bun's embedded file system.
  if (entry.startsWith("/$bunfs/") || entry.startsWith("B:/~BUN/") || !entry.endsWith(".ts")) return "mcpgw";
  const path = relative(cwd, entry);
  return `npx bun ${path.startsWith("..") ? entry : path}`;
}

const COMMANDS = "serve|migrate|init|token|role|backend|limit|audit|jobs|apply|export|doctor|key|client|sessions|tools|call|completion";

/** A hint's `mcpgw <command>` written the way this program was run. */
export function asInvoked(text: string, name: string = programName()): string {
  return name === "mcpgw" ? text : text.replace(new RegExp(`\\bmcpgw (?=(?:${COMMANDS})\\b)`, "g"), `${name} `);
}
