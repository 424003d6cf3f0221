import { ErrorCode, McpError, type Notification, type Request, type Result, type Tool } from "@modelcontextprotocol/sdk/types.js";
import type { BackendConnection } from "../backends/backend-connection.ts";
import type { BackendPool, SessionSink } from "../backends/backend-pool.ts";
import type { BackendRegistry } from "../backends/backend-registry.ts";
import type { BackendSpec } from "../backends/backend-spec.ts";
import { unknownBackend } from "../front/gateway-errors.ts";
import { globToRegExp } from "../policy/glob.ts";
import type { CredentialCaller } from "../credentials/bound-credential.ts";

/** How long a backend's tool list is trusted before it is fetched again (list_changed empties it sooner). */
const TOOL_LIST_TTL_MS = 30_000;
/** A backend that pages its tool list forever is cut off here. */
const MAX_TOOL_PAGES = 50;

/**
 * The jobs' side of the backends: one shared connection per backend (jobs declare no client
 * capabilities, so the backend never asks them for sampling or elicitation), and each backend's
 * tool list, which submit checks tools against and which says whether a tool is idempotent
 * and whether the backend runs it as a task itself.
 */
export class JobBackends implements SessionSink {
  readonly id = "jobs";
  private readonly connections = new Map<string, BackendConnection>();
  private readonly tools = new Map<string, { at: number; byName: Promise<Map<string, Tool>> }>();

  constructor(
    private readonly registry: BackendRegistry,
    private readonly pool: BackendPool,
  ) {}

  spec(backend: string): BackendSpec {
    const spec = this.registry.get(backend);
    if (!spec) throw unknownBackend(backend);
    return spec;
  }

  /**
   * The jobs' connection to a backend for the job's owner, (re)acquired when missing, closed, or the
   * backend changed. A static backend's is one for every job; a per-caller backend's one per owner
   * credential, so no job runs with another owner's credential.
   */
  connection(backend: string, owner: CredentialCaller): BackendConnection {
    const spec = this.pool.bind(this.spec(backend), owner);
    const key = cacheKey(spec);
    const current = this.connections.get(key);
    if (current && !current.isClosed && current.spec === spec) return current;
    if (current) void this.pool.release(current, this);
    const fresh = this.pool.acquire(spec, this, {});
    this.connections.set(key, fresh);
    this.tools.delete(key);
    return fresh;
  }

  /** The backend's definition of a tool as the owner sees it, or undefined when the backend lists no such tool. */
  async tool(backend: string, name: string, owner: CredentialCaller): Promise<Tool | undefined> {
    const connection = this.connection(backend, owner);
    const key = cacheKey(connection.spec);
    let cached = this.tools.get(key);
    if (!cached || Date.now() - cached.at > TOOL_LIST_TTL_MS) {
      cached = { at: Date.now(), byName: listTools(connection) };
      this.tools.set(key, cached);
      cached.byName.catch(() => this.tools.delete(key));
    }
    return (await cached.byName).get(name);
  }

  /** Whether an interrupted run of the tool may be started again: the operator's globs, or the tool's own annotation. */
  isIdempotent(spec: BackendSpec, tool: Tool): boolean {
    if (spec.idempotentTools?.some((glob) => globToRegExp(glob).test(tool.name))) return true;
    return tool.annotations?.idempotentHint === true;
  }

  deliverNotification(backend: string, notification: Notification): void {
    if (notification.method !== "notifications/tools/list_changed") return;
    for (const key of this.tools.keys()) if (key === backend || key.startsWith(`${backend}\u0000`)) this.tools.delete(key);
  }

  async relayRequest(_backend: string, request: Request): Promise<Result> {
    throw new McpError(ErrorCode.MethodNotFound, `${request.method}: a job has no client session to ask`);
  }

  requestedLogLevel(): undefined {
    return undefined;
  }

  isSubscribed(): boolean {
    return false;
  }

  async closeAll(): Promise<void> {
    const connections = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(connections.map((connection) => this.pool.release(connection, this)));
  }
}

/** The connection and tool-list caches' key: the backend, and the owner's credential key for a per-caller one. */
function cacheKey(spec: BackendSpec): string {
  return spec.credential ? `${spec.name}\u0000${spec.credential.key}` : spec.name;
}

async function listTools(connection: BackendConnection): Promise<Map<string, Tool>> {
  const byName = new Map<string, Tool>();
  let cursor: string | undefined;
  for (let page = 0; page < MAX_TOOL_PAGES; page++) {
    const result = await connection.request({ method: "tools/list", params: cursor === undefined ? {} : { cursor } });
    for (const tool of (result.tools ?? []) as Tool[]) byName.set(tool.name, tool);
    cursor = typeof result.nextCursor === "string" ? result.nextCursor : undefined;
    if (cursor === undefined) break;
  }
  return byName;
}
