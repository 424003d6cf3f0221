import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { Subprocess } from "bun";

export interface BunStdioOptions {
  command: string;
  args: string[];
  env: Record<string, string>;
  /** Each line the child writes to stderr. */
  onStderrLine?: (line: string) => void;
}

/** Stdin closed → SIGTERM after this long → SIGKILL after as long again. */
const CLOSE_STEP_MS = 2_000;

/**
 * MCP over a child's stdin/stdout (newline-delimited JSON-RPC) with Bun.spawn. It replaces the
 * SDK's StdioClientTransport on the hot path: that one goes through Bun's emulation of Node
 * streams and validates every message with zod, which together were over half the gateway's CPU
 * per relayed call in the benchmark. Messages are checked for JSON-RPC shape only; the SDK
 * protocol layer above handles their meaning.
 */
export class BunStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private child: Subprocess<"pipe", "pipe", "pipe"> | undefined;
  private closeReported = false;
  private flushing: Promise<unknown> | undefined;

  constructor(private readonly options: BunStdioOptions) {}

  /** The child's pid once started. */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  async start(): Promise<void> {
    if (this.child) throw new Error("BunStdioTransport already started");
    // Bun.spawn throws at once (code ENOENT, EACCES…) when the program cannot be started.
    this.child = Bun.spawn([this.options.command, ...this.options.args], {
      env: this.options.env,
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
    });
    void this.readMessages(this.child.stdout);
    void this.readStderr(this.child.stderr);
    void this.child.exited.then(() => this.reportClose());
  }

  async send(message: JSONRPCMessage): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) throw new Error("the backend process is not running");
    child.stdin.write(`${JSON.stringify(message)}\n`);
    // One flush (a write syscall) per tick, not per message: concurrent calls share it.
    this.flushing ??= Promise.resolve().then(() => {
      this.flushing = undefined;
      return child.stdin.flush();
    });
    await this.flushing;
  }

  async close(): Promise<void> {
    const child = this.child;
    if (!child) return this.reportClose();
    if (child.exitCode === null && child.signalCode === null) {
      try {
        await child.stdin.end();
      } catch {
        // already closed
      }
      if (!(await exitsWithin(child, CLOSE_STEP_MS))) {
        child.kill("SIGTERM");
        if (!(await exitsWithin(child, CLOSE_STEP_MS))) child.kill("SIGKILL");
      }
    }
    await child.exited;
    this.reportClose();
  }

  private reportClose(): void {
    if (this.closeReported) return;
    this.closeReported = true;
    this.onclose?.();
  }

  private async readMessages(stdout: ReadableStream<Uint8Array>): Promise<void> {
    for await (const line of lines(stdout)) {
      if (line.trim() === "") continue;
      let message: unknown;
      try {
        message = JSON.parse(line);
      } catch {
        this.onerror?.(new Error(`malformed message from the backend (not JSON): ${line.slice(0, 200)}`));
        continue;
      }
      if (typeof message !== "object" || message === null || (message as { jsonrpc?: unknown }).jsonrpc !== "2.0") {
        this.onerror?.(new Error(`malformed message from the backend (not JSON-RPC 2.0): ${line.slice(0, 200)}`));
        continue;
      }
      this.onmessage?.(message as JSONRPCMessage);
    }
  }

  private async readStderr(stderr: ReadableStream<Uint8Array>): Promise<void> {
    for await (const line of lines(stderr)) if (line !== "") this.options.onStderrLine?.(line);
  }
}

/** The lines of a byte stream (without their \n or \r\n), the last one even without a newline. */
async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffered = "";
  try {
    for await (const chunk of stream) {
      buffered += decoder.decode(chunk, { stream: true });
      let end = buffered.indexOf("\n");
      while (end >= 0) {
        yield buffered.slice(0, end > 0 && buffered[end - 1] === "\r" ? end - 1 : end);
        buffered = buffered.slice(end + 1);
        end = buffered.indexOf("\n");
      }
    }
  } catch {
    // the stream broke as the process died: what was read is all there is
  }
  buffered += decoder.decode();
  if (buffered !== "") yield buffered;
}

async function exitsWithin(child: Subprocess, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const exited = await Promise.race([child.exited.then(() => true as const), timeout]);
  clearTimeout(timer);
  return exited;
}
