import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const ENTRY = join(REPO_ROOT, "cli", "main.ts");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real mcpgw program (the source entry under Bun, or a given binary) and collects its output.
 * Hints name the program `mcpgw` (MCPGW_PROGRAM_NAME), as the binary's do, so suites read the same
 * words whichever way they run it; test/program-name.test.ts unsets it to see hints as invoked.
 */
export async function runCli(
  args: string[],
  options: {
    cwd?: string;
    env?: Record<string, string | undefined>;
    binary?: string /** What the program reads on stdin (none by default). */;
    input?: string;
  } = {},
): Promise<CliResult> {
  const command = options.binary ? [options.binary, ...args] : [process.execPath, ENTRY, ...args];
  const child = Bun.spawn(command, {
    cwd: options.cwd ?? REPO_ROOT,
    env: definedOnly({ ...cleanEnv(), MCPGW_PROGRAM_NAME: "mcpgw", ...options.env }),
    stdin: options.input === undefined ? "ignore" : new Blob([options.input]),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, stdout, stderr };
}

function definedOnly(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

/** The test process's environment without MCPGW_* settings, so a developer's shell cannot leak into a test. */
export function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && (!key.startsWith("MCPGW_") || key === "MCPGW_TEST_PG_URL")) env[key] = value;
  }
  return env;
}
