import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const ENTRY = join(REPO_ROOT, "cli", "main.ts");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real mcpgw program (the source entry under Bun, or a given binary) and collects its output. */
export async function runCli(
  args: string[],
  options: { cwd?: string; env?: Record<string, string | undefined>; binary?: string } = {},
): Promise<CliResult> {
  const command = options.binary ? [options.binary, ...args] : [process.execPath, ENTRY, ...args];
  const child = Bun.spawn(command, {
    cwd: options.cwd ?? REPO_ROOT,
    env: { ...cleanEnv(), ...options.env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, stdout, stderr };
}

/** The test process's environment without MCPGW_* settings, so a developer's shell cannot leak into a test. */
export function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && (!key.startsWith("MCPGW_") || key === "MCPGW_TEST_PG_URL")) env[key] = value;
  }
  return env;
}
