import { SseError } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ErrorCode, McpError } from "../protocol/mcp-values.ts";
import { formatDuration } from "../config/duration.ts";
import { McpgwError, describeError } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import { type BackendEra, type BackendLink, openBackendLink } from "./backend-link.ts";
import type { BackendSpec, BackendTransportKind } from "./backend-spec.ts";
import { redactUrl } from "./secret-refs.ts";
import type { PinKind } from "../pinning/pin-record.ts";
import { listDefinitions, servedKinds } from "../pinning/list-definitions.ts";

/** What a successful probe learned about a backend. */
export interface ProbeResult {
  backend: string;
  transport: BackendTransportKind;
  server: { name: string; version: string };
  /** The era the backend speaks, detected as the gateway detects it. */
  era: BackendEra;
  /** The protocol revision agreed in initialize (2025-era), or the one every request names (2026-07-28). */
  protocolVersion: string | undefined;
  tools: string[];
  /** Every tool, prompt and resource template as listed, when the probe was asked for them (mcpgw backend pin). */
  definitions?: Partial<Record<PinKind, Record<string, unknown>[]>>;
  /** Time from starting the transport to a completed initialize or server/discover, era detection included. */
  connectMs: number;
}

export interface ProbeOptions {
  env: Record<string, string | undefined>;
  logger: Logger;
  /** Our clientInfo.version in initialize and in each modern request. */
  clientVersion: string;
  /** How hints say to change the backend's settings (default: "change it: mcpgw backend update NAME"). */
  changeWith?: string;
  /** Also list every definition the backend serves (ProbeResult.definitions). */
  listDefinitions?: boolean;
}

const STDERR_TAIL_LINES = 8;
// A stdio close escalates stdin-close → SIGTERM (2 s) → SIGKILL (4 s); wait a little longer.
const CLOSE_WAIT_MS = 5_000;

class ProbeTimeout extends Error {}

/**
 * Connects to a backend as a fresh MCP client, the way the gateway does (era detection, then
 * initialize or server/discover), and lists every tool, all within the backend's timeout.
 * Always closes the connection and waits for it to close, so a stdio child is gone when this
 * returns. A failure is a McpgwError naming the backend, what happened and what to do.
 */
export async function probeBackend(spec: BackendSpec, options: ProbeOptions): Promise<ProbeResult> {
  const stderrTail: string[] = [];
  const abandon = new AbortController();
  let link: BackendLink | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new ProbeTimeout());
      abandon.abort();
    }, spec.timeoutMs);
  });

  const session = async (): Promise<ProbeResult> => {
    const started = performance.now();
    link = await openBackendLink(spec, {
      capabilities: {},
      clientInfo: { name: "mcpgw", version: options.clientVersion },
      env: options.env,
      logger: options.logger.child({ backend: spec.name }),
      listener: {
        onRequest: async (request) => {
          throw new McpError(ErrorCode.MethodNotFound, `${request.method}: mcpgw backend test declared no such capability`);
        },
        onNotification: () => undefined,
      },
      onStderrLine: (line) => {
        stderrTail.push(line);
        if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
      },
      signal: abandon.signal,
    });
    const connectMs = Math.round(performance.now() - started);
    const tools: string[] = [];
    let cursor: string | undefined;
    do {
      const page = (await link.request({ method: "tools/list", params: cursor === undefined ? {} : { cursor } }, { timeoutMs: spec.timeoutMs })) as {
        tools?: { name?: unknown }[];
        nextCursor?: unknown;
      };
      tools.push(...(page.tools ?? []).map((tool) => String(tool.name)));
      cursor = typeof page.nextCursor === "string" ? page.nextCursor : undefined;
    } while (cursor !== undefined);
    let definitions: ProbeResult["definitions"];
    if (options.listDefinitions) {
      definitions = {};
      const open = link;
      for (const kind of servedKinds(link.serverCapabilities)) {
        const items = await listDefinitions((request) => open.request(request, { timeoutMs: spec.timeoutMs }), kind);
        if (items) definitions[kind] = items;
      }
    }
    return {
      backend: spec.name,
      transport: spec.transport,
      server: { name: link.serverInfo?.name ?? "?", version: link.serverInfo?.version ?? "?" },
      era: link.era,
      protocolVersion: link.protocolVersion,
      tools,
      ...(definitions && { definitions }),
      connectMs,
    };
  };

  const running = session();
  try {
    return await Promise.race([running, deadline]);
  } catch (err) {
    throw explainFailure(spec, err, stderrTail, options.changeWith ?? `change it: mcpgw backend update ${spec.name}`);
  } finally {
    clearTimeout(timer);
    abandon.abort();
    // Closing an open link ends a request still in flight; an opening abandoned at the deadline
    // ends its own transport. Either way the session settles, and then nothing is left running.
    const open = link as BackendLink | undefined;
    if (open) await closeAndWait(open);
    await running.catch(() => undefined);
    const late = link as BackendLink | undefined;
    if (late && late !== open) await closeAndWait(late);
  }
}

async function closeAndWait(link: BackendLink): Promise<void> {
  const closed = new Promise<void>((resolve) => (link.onclose = resolve));
  await link.close().catch(() => undefined);
  let waited: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([closed, new Promise((resolve) => (waited = setTimeout(resolve, CLOSE_WAIT_MS)))]);
  clearTimeout(waited);
}

/** Turns whatever the SDK, the runtime or the deadline threw into a message an operator can act on. */
function explainFailure(spec: BackendSpec, err: unknown, stderrTail: string[], recreate: string): McpgwError {
  if (err instanceof McpgwError) return err;
  const name = spec.name;
  const target = spec.transport === "stdio" ? `command "${spec.command?.join(" ") ?? ""}"` : redactUrl(spec.url ?? "");
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
      return new McpgwError(
        `backend "${name}": program "${spec.command?.[0] ?? ""}" was not found`,
        `install it, or use its full path (${recreate} --command "/full/path/to/program …")`,
        { cause: err },
      );
    }
    if (code === "EACCES") {
      return new McpgwError(
        `backend "${name}": program "${spec.command?.[0] ?? ""}" is not executable`,
        `make it executable (chmod +x) or point --command at the right program`,
        { cause: err },
      );
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
    return new McpgwError(
      `backend "${name}": nothing is listening at ${target} (connection refused)`,
      `start the server, or fix the URL (${recreate} --url …)`,
      { cause: err },
    );
  }
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") {
    return new McpgwError(`backend "${name}": the host of ${target} does not resolve`, `check the host name in the URL (mcpgw backend show ${name})`, {
      cause: err,
    });
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
