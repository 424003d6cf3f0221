/**
 * The peers mcpgw is compared with, each fronting the stdio echo server and exposing Streamable
 * HTTP on 127.0.0.1: supergateway (stdio → Streamable HTTP, stateful) and mcp-proxy. Both are
 * Node programs and run under Node, as their users run them (under Bun only if Node is missing).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type ManagedProcess, freePort, lastLines, startProcess, waitUntilAnswering, withTimeout } from "./child-processes.ts";

/** A started peer: where to send MCP traffic, and the exact command line, for the report. */
export interface StartedPeer {
  url: string;
  process: ManagedProcess;
  commandLine: string;
}

export interface PeerInfo {
  name: string;
  version: string;
  runtime: string;
}

const ROOT = join(import.meta.dir, "..");
const NODE = Bun.which("node");
const RUNTIME = NODE ?? process.execPath;

/** The stdio echo server's command line (absolute paths: peers may spawn it from another directory). */
export function stdioEchoCommand(): string[] {
  return [process.execPath, join(import.meta.dir, "stdio-echo-server.ts")];
}

/**
 * supergateway in stdio→Streamable HTTP mode. `--stateful` keeps MCP sessions (its default,
 * stateless mode, spawns a fresh stdio server for every POST); stateful mode spawns one stdio
 * server per session. It has no listen-address flag: express listens on all interfaces, while
 * the bench's traffic stays on 127.0.0.1. stdin is a pipe so it exits (taking its children
 * with it) if the bench dies without stopping it.
 */
export async function startSupergateway(): Promise<StartedPeer> {
  const port = await freePort();
  const command = [
    RUNTIME,
    packageBin("supergateway"),
    "--stdio",
    stdioEchoCommand().map(shellQuote).join(" "),
    "--outputTransport",
    "streamableHttp",
    "--stateful",
    "--port",
    String(port),
    "--logLevel",
    "none",
  ];
  return startPeer("supergateway", command, port, "pipe");
}

/** mcp-proxy: one stdio server shared by every session, Streamable HTTP only, on 127.0.0.1. */
export async function startMcpProxy(): Promise<StartedPeer> {
  const port = await freePort();
  const command = [RUNTIME, packageBin("mcp-proxy"), "--host", "127.0.0.1", "--port", String(port), "--server", "stream", "--", ...stdioEchoCommand()];
  return startPeer("mcp-proxy", command, port, "ignore");
}

/**
 * bench/reference-relay.ts (under Bun, like mcpgw) in front of the HTTP echo server or the stdio
 * echo server: the ceiling a relay reaches on this machine, read beside mcpgw's rows. With
 * `checks`, bench/checked-relay.ts: the same relay doing the per-call checks no gateway can drop.
 */
export async function startReferenceRelay(backend: { http: string } | { stdio: true }, options: { checks?: boolean } = {}): Promise<StartedPeer> {
  const command = [
    process.execPath,
    join(import.meta.dir, options.checks ? "checked-relay.ts" : "reference-relay.ts"),
    ...("http" in backend ? ["--http", backend.http] : ["--stdio", "--", ...stdioEchoCommand()]),
  ];
  const managed = startProcess("reference relay", command, { cwd: ROOT, stdin: "pipe" });
  // It prints its URL once its backend has answered initialize.
  const url = await withTimeout(managed.firstLine, 20_000, "the reference relay printed no URL").catch((err: Error) => {
    throw new Error(`${err.message}: ${lastLines(managed.outputTail())}`);
  });
  return { url, process: managed, commandLine: command.map(shellQuote).join(" ") };
}

/** Name, version and runtime of each peer, for the report header. */
export function peerInfo(): PeerInfo[] {
  const runtime = NODE !== null ? `node ${Bun.spawnSync([NODE, "--version"]).stdout.toString().trim()}` : `bun ${Bun.version} (node not found)`;
  return ["supergateway", "mcp-proxy"].map((name) => ({ name, version: packageJson(name).version, runtime }));
}

async function startPeer(name: string, command: string[], port: number, stdin: "pipe" | "ignore"): Promise<StartedPeer> {
  const url = `http://127.0.0.1:${port}/mcp`;
  const managed = startProcess(name, command, { cwd: ROOT, stdin });
  // Any HTTP answer on the endpoint (a GET without a session is a 4xx) means it is listening.
  await waitUntilAnswering(managed, url);
  return { url, process: managed, commandLine: command.map(shellQuote).join(" ") };
}

function packageJson(name: string): { version: string; bin: string | Record<string, string> } {
  return JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8"));
}

function packageBin(name: string): string {
  const { bin } = packageJson(name);
  const relative = typeof bin === "string" ? bin : bin[name];
  if (relative === undefined) throw new Error(`${name}'s package.json names no "${name}" bin`);
  return join(ROOT, "node_modules", name, relative);
}

/** Quotes one argument for a POSIX shell (supergateway runs --stdio through one). */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}
