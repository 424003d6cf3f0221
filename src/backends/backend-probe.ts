import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SseError } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { formatDuration } from "../config/duration.ts";
import { McpgwError, describeError } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import type { BackendSpec, BackendTransportKind } from "./backend-spec.ts";
import { redactUrl } from "./secret-refs.ts";
import { createBackendTransport } from "./transport-factory.ts";

/** What a successful probe learned about a backend. */
export interface ProbeResult {
  backend: string;
  transport: BackendTransportKind;
  server: { name: string; version: string };
  /** The protocol revision agreed in initialize. */
  protocolVersion: string | undefined;
  tools: string[];
  /** Time from starting the transport to a completed initialize. */
  connectMs: number;
}

export interface ProbeOptions {
  env: Record<string, string | undefined>;
  logger: Logger;
  /** Our clientInfo.version in initialize. */
  clientVersion: string;
}

const STDERR_TAIL_LINES = 8;
// The SDK's stdio close escalates stdin-close → SIGTERM (2 s) → SIGKILL (4 s); wait a little longer.
const CLOSE_WAIT_MS = 5_000;

class ProbeTimeout extends Error {}

/**
 * Connects to a backend as a fresh MCP client, initialises and lists every tool, all within the
 * backend's timeout. Always closes the transport and waits for it to close, so a stdio child is
 * gone when this returns. A failure is a McpgwError naming the backend, what happened and what to do.
 */
export async function probeBackend(spec: BackendSpec, options: ProbeOptions): Promise<ProbeResult> {
  const stderrTail: string[] = [];
  const transport = createBackendTransport(spec, {
    env: options.env,
    logger: options.logger,
    onStderrLine: (line) => {
      stderrTail.push(line);
      if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
    },
  });
  // The Client keeps the negotiated version to itself; it hands it to the transport, so listen there.
  let protocolVersion: string | undefined;
  const setProtocolVersion = transport.setProtocolVersion?.bind(transport);
  transport.setProtocolVersion = (version) => {
    protocolVersion = version;
    setProtocolVersion?.(version);
  };

  const client = new Client({ name: "mcpgw", version: options.clientVersion });
  const closed = new Promise<void>((resolve) => {
    client.onclose = resolve;
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ProbeTimeout()), spec.timeoutMs);
  });

  const session = async (): Promise<ProbeResult> => {
    const started = performance.now();
    await client.connect(transport, { timeout: spec.timeoutMs });
    const connectMs = Math.round(performance.now() - started);
    const tools: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor === undefined ? {} : { cursor }, { timeout: spec.timeoutMs });
      tools.push(...page.tools.map((tool) => tool.name));
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    const server = client.getServerVersion();
    return {
      backend: spec.name,
      transport: spec.transport,
      server: { name: server?.name ?? "?", version: server?.version ?? "?" },
      protocolVersion,
      tools,
      connectMs,
    };
  };

  try {
    return await Promise.race([session(), deadline]);
  } catch (err) {
    throw explainFailure(spec, err, stderrTail);
  } finally {
    clearTimeout(timer);
    await client.close().catch(() => undefined);
    let waited: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([closed, new Promise((resolve) => (waited = setTimeout(resolve, CLOSE_WAIT_MS)))]);
    clearTimeout(waited);
  }
}

/** Turns whatever the SDK, the runtime or the deadline threw into a message an operator can act on. */
function explainFailure(spec: BackendSpec, err: unknown, stderrTail: string[]): McpgwError {
  if (err instanceof McpgwError) return err;
  const name = spec.name;
  const target = spec.transport === "stdio" ? `command "${spec.command?.join(" ") ?? ""}"` : redactUrl(spec.url ?? "");
  const recreate = `re-add it: mcpgw backend remove ${name}, then mcpgw backend add ${name} …`;
  const stderr = stderrTail.length > 0 ? `; its last stderr lines:\n      ${stderrTail.join("\n      ")}` : "";

  if (err instanceof ProbeTimeout || (err instanceof McpError && err.code === ErrorCode.RequestTimeout)) {
    return new McpgwError(
      `backend "${name}" timed out after ${formatDuration(spec.timeoutMs)} (connecting and listing tools at ${target})`,
      `check that the server is up and speaks MCP over ${spec.transport}, or give it a longer --timeout (${recreate} --timeout 60s)${stderr}`,
      { cause: err },
    );
  }
  const code = errorCode(err);
  if (spec.transport === "stdio") {
    if (code === "ENOENT") {
      return new McpgwError(`backend "${name}": program "${spec.command?.[0] ?? ""}" was not found`, `install it, or use its full path (${recreate} --command "/full/path/to/program …")`, { cause: err });
    }
    if (code === "EACCES") {
      return new McpgwError(`backend "${name}": program "${spec.command?.[0] ?? ""}" is not executable`, `make it executable (chmod +x) or point --command at the right program`, { cause: err });
    }
    if (err instanceof McpError && err.code === ErrorCode.ConnectionClosed) {
      return new McpgwError(
        `backend "${name}": ${target} exited before answering`,
        `run the command by hand to see why (it must speak MCP on stdin/stdout)${stderr}`,
        { cause: err },
      );
    }
  }
  if (code === "ECONNREFUSED" || code === "ConnectionRefused") {
    return new McpgwError(`backend "${name}": nothing is listening at ${target} (connection refused)`, `start the server, or fix the URL (${recreate} --url …)`, { cause: err });
  }
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") {
    return new McpgwError(`backend "${name}": the host of ${target} does not resolve`, `check the host name in the URL (mcpgw backend show ${name})`, { cause: err });
  }
  const status = err instanceof StreamableHTTPError || err instanceof SseError ? err.code : undefined;
  if (status !== undefined && status > 0) {
    const hint =
      status === 401 || status === 403
        ? `check the backend's headers (mcpgw backend show ${name}) and that the \${VAR}s they use hold valid credentials`
        : status === 404 || status === 405
          ? "check the URL path (MCP servers usually answer at /mcp; SSE servers at /sse with --transport sse)"
          : "check the server's logs";
    return new McpgwError(`backend "${name}" answered HTTP ${status} at ${target}`, hint, { cause: err });
  }
  if (err instanceof McpError) {
    return new McpgwError(`backend "${name}" refused the MCP session: ${truncate(err.message)}`, `check the server's logs${stderr}`, { cause: err });
  }
  return new McpgwError(
    `backend "${name}": could not connect to ${target}: ${truncate(describeError(err))}`,
    `run again with --log-level debug for details${stderr}`,
    { cause: err },
  );
}

/** The system error code (ENOENT, ECONNREFUSED…) of an error or of its cause, as Node and Bun report it. */
function errorCode(err: unknown): string | undefined {
  for (let current: unknown = err, depth = 0; current instanceof Object && depth < 3; current = (current as { cause?: unknown }).cause, depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") return code;
  }
  return undefined;
}

function truncate(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
