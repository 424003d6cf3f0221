/**
 * The bench's echo MCP server over stdio: newline-delimited JSON-RPC on stdin/stdout, same
 * answers as the HTTP echo server. Exits when stdin closes, so it never outlives the process
 * that spawned it (a relay killed hard, or a gateway that drops the pipe).
 *
 *   bun bench/stdio-echo-server.ts
 */
import { type JsonRpcMessage, answer, isRequest } from "./echo-protocol.ts";

const decoder = new TextDecoder();
let pending = "";

function handleLine(line: string): string | undefined {
  if (line.trim() === "") return undefined;
  let message: JsonRpcMessage;
  try {
    message = JSON.parse(line) as JsonRpcMessage;
  } catch {
    return JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32700, message: "parse error" } });
  }
  if (message === null || typeof message !== "object" || !isRequest(message)) return undefined;
  return JSON.stringify(answer(message));
}

for await (const chunk of Bun.stdin.stream()) {
  pending += decoder.decode(chunk, { stream: true });
  const lines = pending.split("\n");
  pending = lines.pop() ?? "";
  // One write per chunk: a relay that pipelines several requests gets all answers in one syscall.
  let out = "";
  for (const line of lines) {
    const reply = handleLine(line);
    if (reply !== undefined) out += `${reply}\n`;
  }
  if (out !== "") process.stdout.write(out);
}
process.exit(0);
