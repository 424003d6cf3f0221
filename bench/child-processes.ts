/**
 * Every process the bench starts goes through here, so that all of them are stopped on every exit
 * path: normal end, a thrown error, Ctrl-C / SIGTERM, and (last resort, SIGKILL) process exit.
 * Also the small helpers that starting a server needs: a free port, waiting for it to answer.
 */
import { createServer } from "node:net";
import type { Subprocess } from "bun";

const OUTPUT_TAIL_CHARS = 4000;
// supergateway waits up to 5 s for its own children after SIGTERM; leave it room before SIGKILL.
const STOP_GRACE_MS = 6000;

/** A started process with the tail of its output kept for error messages. */
export interface ManagedProcess {
  readonly name: string;
  readonly process: Subprocess<"pipe" | "ignore", "pipe", "pipe">;
  /** Resolves with the first line of stdout (rejects if the process exits first). */
  readonly firstLine: Promise<string>;
  /** The last few KB of stdout and stderr, interleaved as they arrived. */
  outputTail(): string;
  /** All of stdout, when started with captureStdout (settles once stdout has closed). */
  readonly stdout: Promise<string>;
  /** Settles once both stdout and stderr have closed. */
  readonly outputClosed: Promise<void>;
}

export interface SpawnOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** "pipe" ties the child's life to ours: it sees EOF on stdin when we go, however we go. */
  stdin?: "pipe" | "ignore";
  /** Keep all of stdout (for short commands whose output is the result). */
  captureStdout?: boolean;
}

const running = new Set<ManagedProcess>();
let handlersInstalled = false;

/** Starts a process the bench owns; it is stopped by stopProcess or stopAllProcesses at the latest. */
export function startProcess(name: string, command: string[], options: SpawnOptions = {}): ManagedProcess {
  installExitHandlers();
  const child = Bun.spawn(command, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdin: options.stdin ?? "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let tail = "";
  const append = (text: string) => {
    tail = (tail + text).slice(-OUTPUT_TAIL_CHARS);
  };
  const { promise: firstLine, resolve: resolveFirstLine, reject: rejectFirstLine } = Promise.withResolvers<string>();
  firstLine.catch(() => undefined); // Only some callers wait for it.
  // Both pipes are always drained, so a chatty child never blocks on a full pipe.
  const stdout = (async () => {
    let kept = "";
    let lineSeen = false;
    for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) {
      append(text);
      if (options.captureStdout || !lineSeen) kept += text;
      if (!lineSeen && kept.includes("\n")) {
        lineSeen = true;
        resolveFirstLine(kept.slice(0, kept.indexOf("\n")).trim());
        if (!options.captureStdout) kept = "";
      }
    }
    rejectFirstLine(new Error(`${name} exited before printing a line`));
    return kept;
  })().catch(() => "");
  const stderrClosed = (async () => {
    for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) append(text);
  })().catch(() => undefined);
  const outputClosed = Promise.all([stdout, stderrClosed]).then(() => undefined);

  const managed: ManagedProcess = { name, process: child, firstLine, stdout, outputClosed, outputTail: () => tail.trim() };
  running.add(managed);
  void child.exited.then(() => running.delete(managed));
  return managed;
}

/** SIGTERM, then SIGKILL if the process is still there after a grace period. */
export async function stopProcess(managed: ManagedProcess): Promise<void> {
  const child = managed.process;
  if (child.exitCode === null && child.signalCode === null) {
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
    await child.exited;
    clearTimeout(timer);
  }
  running.delete(managed);
}

/** Stops every process still running. */
export async function stopAllProcesses(): Promise<void> {
  await Promise.all([...running].map(stopProcess));
}

/** Runs a command to completion (killed after timeoutMs): exit code, stdout, and the tail of all output. */
export async function runToCompletion(
  command: string[],
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; output: string }> {
  const managed = startProcess(command[0]!, command, { captureStdout: true, ...(options.cwd !== undefined && { cwd: options.cwd }) });
  const timer = setTimeout(() => managed.process.kill("SIGKILL"), options.timeoutMs ?? 60_000);
  const [code, stdout] = await Promise.all([managed.process.exited, managed.stdout, managed.outputClosed]);
  clearTimeout(timer);
  return { code, stdout, output: managed.outputTail() };
}

/** A TCP port that was free on 127.0.0.1 a moment ago (for programs that cannot listen on port 0 and report it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/**
 * Polls `url` until it answers any HTTP status (or `okOnly`: a 2xx). Fails early, with the
 * process's output, if the process exits, and after `timeoutMs` otherwise.
 */
export async function waitUntilAnswering(managed: ManagedProcess, url: string, options: { timeoutMs?: number; okOnly?: boolean } = {}): Promise<void> {
  const deadline = performance.now() + (options.timeoutMs ?? 20_000);
  let lastProblem = "no answer yet";
  while (performance.now() < deadline) {
    if (managed.process.exitCode !== null || managed.process.signalCode !== null) {
      throw new Error(
        `${managed.name} exited (${managed.process.exitCode ?? managed.process.signalCode}) before answering: ${lastLines(managed.outputTail())}`,
      );
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await response.body?.cancel();
      if (!options.okOnly || response.ok) return;
      lastProblem = `HTTP ${response.status}`;
    } catch (err) {
      lastProblem = err instanceof Error ? err.message : String(err);
    }
    await Bun.sleep(100);
  }
  throw new Error(`${managed.name} did not answer ${url} in time (${lastProblem}): ${lastLines(managed.outputTail())}`);
}

/** The last lines of a process's output, on one line, for an error message. */
export function lastLines(output: string, count = 3): string {
  const lines = output.split("\n").filter((line) => line.trim() !== "");
  return lines.slice(-count).join(" | ") || "(no output)";
}

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const [signal, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const) {
    process.on(signal, () => {
      console.error(`\n${signal}: stopping ${running.size} child process(es)…`);
      void stopAllProcesses().finally(() => process.exit(code));
    });
  }
  // Last resort when the bench exits without having stopped them (process.exit, fatal error).
  process.on("exit", () => {
    for (const managed of running) managed.process.kill("SIGKILL");
  });
}

/** The promise's outcome, or an error saying `what` did not happen within `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: Timer | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
