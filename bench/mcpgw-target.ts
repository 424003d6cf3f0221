/**
 * Brings up mcpgw for the bench: builds dist/mcpgw when it is missing or older than its sources (once a run),
 * then, in a temporary folder with a temporary SQLite database, migrates, registers the two echo
 * backends, issues a token when the CLI can, and serves on a free 127.0.0.1 port.
 * Every step that fails (a command the CLI does not have yet, a build error) becomes a reason
 * for the affected rows to read n/a; nothing here throws past startMcpgw.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ManagedProcess, freePort, lastLines, runToCompletion, startProcess, stopProcess, waitUntilAnswering } from "./child-processes.ts";
import { stdioEchoCommand } from "./peers.ts";

const ROOT = join(import.meta.dir, "..");
/** The compiled gateway every mcpgw row (and bench/footprint.ts) measures. */
export const BINARY = join(ROOT, "dist", "mcpgw");
const SOURCES = ["src", "cli", "migrations", "scripts", "package.json"];
const BENCH_SUBJECT = "bench-load";

export const MCPGW_BACKENDS = ["http-echo", "stdio-echo"] as const;
export type McpgwBackend = (typeof MCPGW_BACKENDS)[number];

/** Where to reach one backend through mcpgw, or why it cannot be reached. */
export type McpgwEndpoint = { url: string } | { unavailable: string };

export interface McpgwTarget {
  endpoints: Record<McpgwBackend, McpgwEndpoint>;
  /** A bearer token for the load, when `token issue` worked. */
  token?: string;
  version?: string;
  /** How `serve` was started, for the report. */
  commandLine?: string;
  /** The `serve` process, whose CPU per call the report shows. */
  serving?: ManagedProcess;
  /** Things worth printing under the table (e.g. that no token could be issued). */
  notes: string[];
  /** Stops the gateway and deletes the temporary folder. */
  stop(): Promise<void>;
}

/** Which of the gateway's features are on for a run: each costs something, and the bench says how much. */
export interface McpgwProfile {
  /** Authentication (a bearer token per call) and RBAC (a role allowing "*"). */
  auth: boolean;
  /** The write-ahead audit log (SQLite). */
  audit: boolean;
  /** A global rate limit that never refuses (every call still takes its way through the limiter). */
  limit: boolean;
  /** Tool-definition pinning as every new backend has it (trust on first use, drift blocked); false: `--drift-mode off`. */
  pinning?: boolean;
}

export const RELAY_ONLY: McpgwProfile = { auth: false, audit: false, limit: false };

/**
 * Starts mcpgw in front of the HTTP echo server (at httpEchoUrl) and the stdio echo server: dist/mcpgw, built
 * first when stale, or `binary` as it is (bench/side-by-side.ts compares builds).
 */
export async function startMcpgw(httpEchoUrl: string, profile: McpgwProfile = RELAY_ONLY, binary?: string): Promise<McpgwTarget> {
  const folder = mkdtempSync(join(tmpdir(), "mcpgw-bench-"));
  const db = `sqlite:${join(folder, "bench.db")}`;
  let serve: ManagedProcess | undefined;
  const notes: string[] = [];
  const stop = async () => {
    if (serve !== undefined) await stopProcess(serve);
    rmSync(folder, { recursive: true, force: true });
  };
  const unavailable = (reason: string): McpgwTarget => ({
    endpoints: { "http-echo": { unavailable: reason }, "stdio-echo": { unavailable: reason } },
    notes,
    stop,
  });

  const built = binary === undefined ? await ensureMcpgwBuilt() : undefined;
  if (built !== undefined) return unavailable(built);
  const executable = binary ?? BINARY;
  const mcpgw = (args: string[]) => runCli(executable, args);
  const version = (await mcpgw(["--version"])).stdout.trim() || undefined;

  const migrated = await mcpgw(["migrate", "--db", db]);
  if (migrated.code !== 0) return unavailable(`mcpgw migrate failed: ${cliFailure(migrated.output)}`);

  const backendArgs: Record<McpgwBackend, string[]> = {
    "http-echo": ["--url", httpEchoUrl],
    "stdio-echo": ["--command", stdioEchoCommand().join(" ")],
  };
  const endpoints = {} as Record<McpgwBackend, McpgwEndpoint>;
  for (const name of MCPGW_BACKENDS) {
    const pinning = profile.pinning === false ? ["--drift-mode", "off"] : [];
    const added = await mcpgw(["backend", "add", name, ...backendArgs[name], ...pinning, "--db", db]);
    endpoints[name] = added.code === 0 ? { url: "" } : { unavailable: `mcpgw backend add failed: ${cliFailure(added.output)}` };
  }
  if (MCPGW_BACKENDS.every((name) => "unavailable" in endpoints[name])) return { endpoints, notes, stop, ...(version !== undefined && { version }) };

  const token = profile.auth ? await issueToken(mcpgw, db, notes) : undefined;
  if (profile.limit) {
    const limited = await mcpgw(["limit", "set", "--global", "--rate", "100000000/s", "--db", db]);
    if (limited.code !== 0) return unavailable(`mcpgw limit set failed: ${cliFailure(limited.output)}`);
  }

  const port = await freePort();
  const command = [executable, "serve", "--port", String(port), "--db", db, "--log-level", "error"];
  const env = { MCPGW_AUTH: profile.auth ? "required" : "off", MCPGW_AUDIT: profile.audit ? "on" : "off" };
  serve = startProcess("mcpgw serve", command, { cwd: folder, env: { ...process.env, ...env } });
  try {
    await waitUntilAnswering(serve, `http://127.0.0.1:${port}/healthz`, { okOnly: true });
  } catch (err) {
    const reason = `mcpgw serve did not come up: ${err instanceof Error ? err.message : String(err)}`;
    return { ...unavailable(reason), ...(version !== undefined && { version }) };
  }
  for (const name of MCPGW_BACKENDS) {
    if ("url" in endpoints[name]) endpoints[name] = { url: `http://127.0.0.1:${port}/mcp/${name}` };
  }
  return {
    endpoints,
    notes,
    stop,
    commandLine: command.join(" "),
    serving: serve,
    ...(token !== undefined && { token }),
    ...(version !== undefined && { version }),
  };
}

/**
 * Best effort: a role allowing every tool, bound to the bench's subject, and a token for it, so
 * the load passes authentication and authorization once the gateway enforces them. Undefined
 * (with a note) while the CLI lacks these commands.
 */
async function issueToken(mcpgw: (args: string[]) => ReturnType<typeof runCli>, db: string, notes: string[]): Promise<string | undefined> {
  const steps = [
    ["role", "create", BENCH_SUBJECT, "--allow", "*", "--description", "mcpgw bench load generator"],
    ["role", "grant", BENCH_SUBJECT, BENCH_SUBJECT],
    ["token", "issue", "--sub", BENCH_SUBJECT, "--role", BENCH_SUBJECT, "--ttl", "1h"],
  ];
  let stdout = "";
  for (const step of steps) {
    const result = await mcpgw([...step, "--db", db]);
    if (result.code !== 0) {
      notes.push(`mcpgw driven without a token (\`mcpgw ${step.slice(0, 2).join(" ")}\`: ${cliFailure(result.output)})`);
      return undefined;
    }
    stdout = result.stdout;
  }
  const token = stdout
    .split("\n")
    .map((line) => line.trim())
    .find((line) => /^[\w-]+\.[\w-]+\.[\w-]+$/.test(line));
  if (token === undefined) notes.push("mcpgw driven without a token (`token issue` printed no JWT)");
  else notes.push(`mcpgw driven with a bearer token for subject "${BENCH_SUBJECT}" (role allowing "*")`);
  return token;
}

// Checked once per run, not per start: every row of a run then measures the same binary, even when
// src/ changes while the bench runs (a rebuild between the legacy and the modern rows would compare two builds).
let buildOnce: Promise<string | undefined> | undefined;

/** Builds dist/mcpgw when missing or stale, once per bench process; resolves to why not, on failure. */
export function ensureMcpgwBuilt(): Promise<string | undefined> {
  return (buildOnce ??= ensureBuilt());
}

/** Builds dist/mcpgw if it is missing or older than any source file; returns why not, on failure. */
async function ensureBuilt(): Promise<string | undefined> {
  const binaryTime = mtime(BINARY);
  if (binaryTime !== undefined && SOURCES.every((source) => newestMtime(join(ROOT, source)) <= binaryTime)) return undefined;
  console.error(binaryTime === undefined ? "dist/mcpgw is missing: npm run build…" : "dist/mcpgw is older than its sources: npm run build…");
  const build = await runToCompletion(["npm", "run", "build"], { cwd: ROOT, timeoutMs: 120_000 });
  return build.code === 0 ? undefined : `npm run build failed: ${lastLines(build.output, 2)}`;
}

/** The line of a failed CLI command that says what went wrong (commander adds a usage hint after it). */
function cliFailure(output: string): string {
  const lines = output
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "");
  return lines.find((line) => /^error\b/i.test(line)) ?? lines[0] ?? "(no output)";
}

function runCli(binary: string, args: string[]): Promise<{ code: number; stdout: string; output: string }> {
  return runToCompletion([binary, ...args], { timeoutMs: 30_000 });
}

function mtime(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

function newestMtime(path: string): number {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (stat === undefined) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}
