import type { Command } from "commander";
import { readEnv } from "../../src/config/env.ts";
import type { FlagSettings } from "../../src/config/settings.ts";
import { UsageError } from "../../src/errors.ts";

/**
 * Which commands can work through a gateway's admin API (`--server URL`): those the API has
 * routes for. Every other command given --server (or MCPGW_SERVER without --db) is refused
 * before it runs, with exit 2: none may quietly use the database instead.
 */
export const REMOTE_COMMANDS: ReadonlySet<string> = new Set([
  "backend add",
  "backend update",
  "backend list",
  "backend show",
  "backend remove",
  "backend test",
  "role create",
  "role update",
  "role delete",
  "role grant",
  "role revoke",
  "role list",
  "role show",
  "token issue",
  "token list",
  "token revoke",
  "limit set",
  "limit update",
  "limit list",
  "limit remove",
]);

/** Commands that touch neither a database nor a gateway: they run whatever --server says. */
const NEUTRAL_COMMANDS: ReadonlySet<string> = new Set(["completion"]);

/** "backend add": a command's words below the program. */
function wordsOf(command: Command): string {
  const words: string[] = [];
  for (let at: Command | null = command; at?.parent; at = at.parent) words.unshift(at.name());
  return words.join(" ");
}

/** Throws a usage error when --server (or MCPGW_SERVER without --db) is given to a command that cannot work through the admin API. */
export function refuseServerUnlessRemote(command: Command): void {
  const words = wordsOf(command);
  if (REMOTE_COMMANDS.has(words) || NEUTRAL_COMMANDS.has(words)) return;
  const flags = command.optsWithGlobals<FlagSettings>();
  const fromVariable = flags.server === undefined && flags.db === undefined && readEnv().server !== undefined;
  if (flags.server === undefined && !fromVariable) return;
  throw new UsageError(
    `mcpgw ${words} is not available with --server${fromVariable ? " (MCPGW_SERVER is set)" : ""}; run it with --db`,
    "the admin API serves backend (add, update, list, show, remove, test), role, token (issue, list, revoke) and limit commands; " +
      `run this one where the database is reachable: mcpgw ${words} --db DATABASE_URL${fromVariable ? ", or unset MCPGW_SERVER" : ""}`,
  );
}
