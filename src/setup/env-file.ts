import { accessSync, chmodSync, constants, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { formatDotenvLine } from "../config/dotenv.ts";
import { UsageError, describeError } from "../errors.ts";

/** The variables `mcpgw init` writes, in the order they appear in the file. */
export interface GatewayEnvValues {
  MCPGW_DATABASE_URL: string;
  MCPGW_HOST: string;
  MCPGW_PORT: string;
}

/**
 * The text of the settings file. When an older file is being replaced, its lines for other
 * variables (secrets such as MCPGW_JWT_SECRET, audit settings…) are carried over unchanged, so
 * confirming the overwrite never silently drops them.
 */
export function renderEnvFile(values: GatewayEnvValues, previous: string | undefined, now: Date): string {
  const lines = [
    `# mcpgw settings, written by mcpgw init on ${now.toISOString()}.`,
    "# mcpgw reads this file from its working directory; variables set in the real environment win.",
    "# Every variable is described in example.env and docs/configuration.md.",
    ...Object.entries(values).map(([key, value]) => formatDotenvLine(key, value)),
  ];
  const kept = keptLines(previous, new Set(Object.keys(values)));
  if (kept.length > 0) lines.push("", "# kept from the previous file", ...kept);
  return `${lines.join("\n")}\n`;
}

/** Throws unless a file could be created at `path`: its folder exists and is writable. */
export function assertWritableLocation(path: string): void {
  const folder = dirname(path);
  try {
    if (!statSync(folder).isDirectory()) throw new Error("not a folder");
    accessSync(folder, constants.W_OK);
  } catch (err) {
    throw new UsageError(
      `cannot write ${path}: ${folder} is not a writable folder (${describeError(err)})`,
      "create the folder, or choose another place with --env-file PATH",
    );
  }
  if (existsSync(path) && statSync(path).isDirectory()) throw new UsageError(`${path} is a folder`, "choose a file path with --env-file PATH");
}

/**
 * Writes the settings file, readable by its owner only (it may hold a database password). Unless
 * `overwrite` was confirmed, a file that appeared meanwhile is left alone and reported.
 */
export function writeEnvFile(path: string, text: string, overwrite: boolean): void {
  try {
    writeFileSync(path, text, { mode: 0o600, flag: overwrite ? "w" : "wx" });
    // The mode above applies only to a file this call creates: an overwritten file kept its own.
    chmodSync(path, 0o600);
  } catch (err) {
    if ((err as { code?: unknown }).code === "EEXIST") {
      throw new UsageError(`${path} appeared while mcpgw init ran and was left as it is`, "run mcpgw init again and choose whether to overwrite it");
    }
    throw new UsageError(`cannot write ${path}: ${describeError(err)}`, "check the folder is writable, or choose another place with --env-file PATH");
  }
}

/** The previous file's text, or undefined when there is none. */
export function readPreviousEnvFile(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

function keptLines(previous: string | undefined, replaced: Set<string>): string[] {
  if (previous === undefined) return [];
  return previous.split(/\r?\n/).filter((line) => {
    const key = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=/.exec(line)?.[1];
    return key !== undefined && !replaced.has(key);
  });
}
