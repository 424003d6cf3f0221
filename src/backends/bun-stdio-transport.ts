import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { Subprocess } from "bun";
import { BACKEND_JSON_BUDGET, exceedsJsonBudget } from "../json/json-budget.ts";

export interface BunStdioOptions {
  command: string;
  args: string[];
  env: Record<string, string>;
  /** Each line the child writes to stderr. */
  onStderrLine?: (line: string) => void;
  /** Largest message accepted from the child; a longer line is dropped without being buffered. */
  maxMessageBytes?: number;
}

export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

function ignoreValue(): void {}

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
  private flushing: Promise<void> | undefined;

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

  send(message: JSONRPCMessage): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.reject(new Error("the backend process is not running"));
    try {
      child.stdin.write(`${JSON.stringify(message)}\n`);
    } catch (err) {
      return Promise.reject(err);
    }
    // One flush (a write syscall) per event-loop turn, not per message: every call sent during
    // the turn shares it, and its promise (not an async function's own per message; measured:
    // about 2 % of a relayed call's CPU). A flush per message was once the largest single cost.
    this.flushing ??= new Promise<unknown>((resolve) =>
      setImmediate(() => {
        this.flushing = undefined;
        resolve(child.stdin.flush());
      }),
    ).then(ignoreValue);
    return this.flushing;
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
    // Every line of a chunk is handled in one synchronous pass (no await per message).
    await readLines(stdout, this.options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES, (line) => {
      if (typeof line !== "string") return this.refuseOversized(line);
      if (line.trim() === "") return;
      const excess = exceedsJsonBudget(line, BACKEND_JSON_BUDGET);
      if (excess)
        return this.refuseMessage(`the backend sent a message that is refused: ${excess.problem}`, answeredId(line.slice(0, KEPT), line.slice(-KEPT)));
      let message: unknown;
      try {
        message = JSON.parse(line);
      } catch {
        this.onerror?.(new Error(`malformed message from the backend (not JSON): ${line.slice(0, 200)}`));
        return;
      }
      if (typeof message !== "object" || message === null || (message as { jsonrpc?: unknown }).jsonrpc !== "2.0") {
        this.onerror?.(new Error(`malformed message from the backend (not JSON-RPC 2.0): ${line.slice(0, 200)}`));
        return;
      }
      try {
        this.onmessage?.(message as JSONRPCMessage);
      } catch (err) {
        // A consumer's failure on one message must not end the reading of all the others.
        this.onerror?.(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  private async readStderr(stderr: ReadableStream<Uint8Array>): Promise<void> {
    await readLines(stderr, 64 * 1024, (line) => {
      if (typeof line === "string" && line !== "") this.options.onStderrLine?.(line);
    });
  }

  /** An oversized message: fail the call it answers (its id is at the start or, as SDK servers write it, at the end). */
  private refuseOversized(dropped: OversizedLine): void {
    const message = `the backend sent a message of ${dropped.bytes} bytes, over the ${this.options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES}-byte cap (backend add --max-response)`;
    this.refuseMessage(message, answeredId(dropped.head, dropped.tail));
  }

  /** A message not handed on: reported, and the call it answers (when its id is known) fails with the reason. */
  private refuseMessage(message: string, answersId: string | number | undefined): void {
    this.onerror?.(new Error(message));
    if (answersId !== undefined) this.onmessage?.({ jsonrpc: "2.0", id: answersId, error: { code: -32603, message } });
  }
}

/**
 * The id of the call a message answers, read from its first and last characters only (the message
 * is not parsed: it is too large or too costly): SDK servers write the id at the end, others at
 * the start. Undefined for a message that is not a response (no "result" or "error").
 */
export function answeredId(head: string, tail: string): string | number | undefined {
  const id = /"id"\s*:\s*(-?\d+|"(?:[^"\\]|\\.)*")/.exec(head)?.[1] ?? /"id"\s*:\s*(-?\d+|"(?:[^"\\]|\\.)*")\s*}\s*$/.exec(tail)?.[1];
  return id !== undefined && /"result"|"error"/.test(head + tail) ? (JSON.parse(id) as string | number) : undefined;
}

/** What is kept of a line longer than the cap: its size, and its first and last characters. */
interface OversizedLine {
  bytes: number;
  head: string;
  tail: string;
}

const KEPT = 256;

/**
 * Calls `onLine` with each line of a byte stream (without its \n or \r\n), the last one even
 * without a newline, and resolves when the stream ends. A line longer than `max` is never held
 * whole: it is skipped as it arrives, and given as an OversizedLine once its newline comes.
 * (Length is counted in characters, a close bound on bytes.)
 */
async function readLines(stream: ReadableStream<Uint8Array>, max: number, onLine: (line: string | OversizedLine) => void): Promise<void> {
  const decoder = new TextDecoder();
  let buffered = "";
  let skipping: OversizedLine | undefined;
  try {
    for await (const chunk of stream) {
      buffered += decoder.decode(chunk, { stream: true });
      let from = 0;
      for (let end = buffered.indexOf("\n"); end >= 0; end = buffered.indexOf("\n", from)) {
        const line = buffered.slice(from, end > from && buffered.charCodeAt(end - 1) === 13 ? end - 1 : end);
        from = end + 1;
        if (skipping) {
          skipping.bytes += line.length;
          skipping.tail = (skipping.tail + line).slice(-KEPT);
          onLine(skipping);
          skipping = undefined;
        } else if (line.length > max) {
          onLine({ bytes: line.length, head: line.slice(0, KEPT), tail: line.slice(-KEPT) });
        } else {
          onLine(line);
        }
      }
      buffered = from === 0 ? buffered : buffered.slice(from);
      if (buffered.length > max || (skipping && buffered.length > KEPT)) {
        skipping ??= { bytes: 0, head: buffered.slice(0, KEPT), tail: "" };
        skipping.bytes += buffered.length;
        skipping.tail = (skipping.tail + buffered).slice(-KEPT);
        buffered = "";
      }
    }
  } catch {
    // the stream broke as the process died: what was read is all there is
  }
  buffered += decoder.decode();
  if (skipping) onLine(skipping);
  else if (buffered !== "") onLine(buffered);
}

async function exitsWithin(child: Subprocess, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const exited = await Promise.race([child.exited.then(() => true as const), timeout]);
  clearTimeout(timer);
  return exited;
}
