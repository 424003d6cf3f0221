import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { DEFAULT_INHERITED_ENV_VARS } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { assertNever } from "../assert-never.ts";
import type { Logger } from "../log/logger.ts";
import type { BackendSpec } from "./backend-spec.ts";
import { BunStdioTransport, DEFAULT_MAX_MESSAGE_BYTES } from "./bun-stdio-transport.ts";
import { sizeLimitedFetch } from "./size-limited-fetch.ts";
import { ModernHttpTransport } from "./modern-http-transport.ts";
import { StreamableHttpTransport } from "./streamable-http-transport.ts";
import { tracePropagatingFetch } from "../observability/trace-propagation.ts";
import { resolveSecretRefs } from "./secret-refs.ts";
import { credentialFetch } from "../credentials/bound-credential.ts";
import { noCallerError } from "../credentials/credential-binder.ts";

export interface BackendTransportOptions {
  /** The gateway's environment: source of `${VAR}` values and of the stdio child's PATH, HOME… */
  env: Record<string, string | undefined>;
  logger: Logger;
  /** Called with each line the stdio child writes to stderr (after it is logged). */
  onStderrLine?: (line: string) => void;
  /** Largest message accepted from the backend when its spec sets none (default 16 MiB). */
  maxMessageBytes?: number;
}

/**
 * Builds the SDK client transport a backend spec describes, with `${VAR}` references resolved.
 * Throws a McpgwError naming the backend when a referenced variable is unset. The transport is
 * not started: `Client.connect` starts it, and closing it ends a stdio child (stdin closed,
 * then SIGTERM after 2 s, then SIGKILL).
 */
export function createBackendTransport(spec: BackendSpec, options: BackendTransportOptions): Transport {
  // Fail closed: a per-caller backend is never reached without its caller's credential.
  if (spec.auth && !spec.credential) throw noCallerError(spec);
  switch (spec.transport) {
    case "stdio":
      return stdioTransport(spec, options);
    case "streamable-http":
      return new StreamableHttpTransport(new URL(requireUrl(spec)), {
        headers: resolvedHeaders(spec, options),
        // Each POST carries the W3C trace context of the call that sent it (none for the connection's own traffic).
        fetch: tracePropagatingFetch(withCredential(spec, sizeLimitedFetch(maxMessageBytes(spec, options), spec.name))),
      });
    case "sse":
      // SDK 1.32 sends requestInit headers on the event-stream GET as well as on each POST,
      // so no separate eventSourceInit is needed (test/transport-factory checks both requests).
      // The size cap applies to each event of the stream, which carries every message from the backend.
      return new SSEClientTransport(new URL(requireUrl(spec)), {
        requestInit: { headers: resolvedHeaders(spec, options) },
        fetch: tracePropagatingFetch(withCredential(spec, sizeLimitedFetch(maxMessageBytes(spec, options), spec.name))),
      });
    default:
      return assertNever(spec.transport);
  }
}

/**
 * The transport for a Streamable HTTP backend that speaks MCP 2026-07-28: a stateless POST per
 * request, with the same headers, size cap and trace propagation as the 2025-era transport.
 */
export function createModernHttpTransport(spec: BackendSpec, options: BackendTransportOptions & { protocolVersion: string }): ModernHttpTransport {
  if (spec.auth && !spec.credential) throw noCallerError(spec);
  const maxBytes = maxMessageBytes(spec, options);
  return new ModernHttpTransport(new URL(requireUrl(spec)), {
    headers: resolvedHeaders(spec, options),
    fetch: tracePropagatingFetch(withCredential(spec, sizeLimitedFetch(maxBytes, spec.name))),
    protocolVersion: options.protocolVersion,
    maxMessageBytes: maxBytes,
  });
}

function stdioTransport(spec: BackendSpec, options: BackendTransportOptions): Transport {
  const [command, ...args] = spec.command ?? [];
  if (command === undefined) throw new Error(`backend "${spec.name}" is stdio but has no command`);
  const env = { ...inheritedEnv(options.env), ...resolveSecretRefs(spec.env, options.env, { backend: spec.name, kind: "env" }) };
  return new BunStdioTransport({
    command,
    args,
    env,
    maxMessageBytes: maxMessageBytes(spec, options),
    // The child's stderr never reaches the gateway's own stdout/stderr (which carry JSON logs).
    onStderrLine: (line) => {
      // The logger is the connection's, already bound to the backend (a second "backend" key would repeat it).
      options.logger.info({ stream: "stderr" }, line);
      options.onStderrLine?.(line);
    },
  });
}

/**
 * The variables a stdio child inherits (the SDK's list: PATH, HOME, USER…), taken from the given
 * environment rather than process.env so callers control them; nothing else of the gateway's
 * environment (its own secrets included) reaches the child.
 */
function inheritedEnv(env: Record<string, string | undefined>): Record<string, string> {
  const inherited: Record<string, string> = {};
  for (const key of DEFAULT_INHERITED_ENV_VARS) {
    const value = env[key];
    // Exported shell functions look like "() {…}": never pass them on (as the SDK does).
    if (value !== undefined && !value.startsWith("()")) inherited[key] = value;
  }
  return inherited;
}

function resolvedHeaders(spec: BackendSpec, options: BackendTransportOptions): Record<string, string> {
  return resolveSecretRefs(spec.headers, options.env, { backend: spec.name, kind: "header" });
}

/** The fetch with the bound caller's credential added to each request (the fetch itself for a static backend). */
function withCredential(spec: BackendSpec, inner: typeof fetch): typeof fetch {
  return spec.credential ? credentialFetch(inner, spec.credential) : inner;
}

function maxMessageBytes(spec: BackendSpec, options: BackendTransportOptions): number {
  return spec.limits?.maxResponseBytes ?? options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
}

function requireUrl(spec: BackendSpec): string {
  if (spec.url === undefined) throw new Error(`backend "${spec.name}" is ${spec.transport} but has no url`);
  return spec.url;
}
