import type { LoggingLevel, Request, Result } from "@modelcontextprotocol/sdk/types.js";
import { ErrorCode, LoggingLevelSchema, McpError } from "../protocol/mcp-values.ts";
import { prefixContentUris, prefixName, prefixUri, splitName, splitUri } from "./aggregate-names.ts";
import type { CallerSession, ClientRequestExtra } from "./caller-session.ts";
import type { TargetKind } from "../policy/permission.ts";
import { aggregateList } from "./aggregate-list.ts";

/** Where a request goes and how to run it; `backend`, `kind` and `target` are what policy and audit see. */
export interface RoutePlan {
  backend?: string;
  /** What the call is about; absent for lists (filtered instead) and for requests the gateway answers. */
  kind?: TargetKind;
  /** The tool, resource URI, prompt or method, as the backend names it. */
  target?: string;
  run(): Promise<Result>;
}

/** What a call is about, as policy, limits and audit see it: a RoutePlan, or a job's tool. */
export type CallTarget = Pick<RoutePlan, "backend" | "kind" | "target">;

type Params = Record<string, unknown>;
const SEVERITY = new Map(LoggingLevelSchema.options.map((level, index) => [level, index]));

/**
 * MCP Tasks as the route stage sees them: the gateway runs calls as its own durable jobs. src/tasks/
 * implements it for each protocol era; the pipeline only asks, so it depends on no job code.
 */
export interface TaskRouting {
  /** Whether `method` is one of the era's tasks/* methods (answered from the caller's jobs, never forwarded). */
  handles(method: string): boolean;
  /** The plan of a tasks/* method. */
  method(session: CallerSession, request: Request, extra: ClientRequestExtra): RoutePlan;
  /** The plan that runs a routed tools/call as a task, or undefined when the call stays direct. */
  call(plan: RoutePlan, session: CallerSession, request: Request, extra: ClientRequestExtra): RoutePlan | undefined;
  /** A routed tools/list: what is done with the list before the client gets it (task support recorded, tasks offered). */
  list(plan: RoutePlan, session: CallerSession): RoutePlan;
}

/** Decides the backend (and the request it gets) for one client request on a session. */
export function route(session: CallerSession, request: Request, extra: ClientRequestExtra): RoutePlan {
  const params = (request.params ?? {}) as Params;
  switch (request.method) {
    case "logging/setLevel":
      return { run: () => setLevel(session, params, extra) };
    case "resources/subscribe":
    case "resources/unsubscribe":
      return subscription(session, request, params, extra);
  }
  const tasks = session.tasks;
  // MCP Tasks are the gateway's own jobs: tasks/* never reach a backend (the caller's jobs are in the store).
  if (tasks?.handles(request.method)) return tasks.method(session, request, extra);
  const plan =
    session.route.kind === "backend" ? backendRoute(session, session.route.backend, request, params, extra) : aggregateRoute(session, request, params, extra);
  if (tasks && request.method === "tools/call") return tasks.call(plan, session, request, extra) ?? plan;
  if (tasks && request.method === "tools/list") return tasks.list(plan, session);
  return plan;
}

function backendRoute(session: CallerSession, backend: string, request: Request, params: Params, extra: ClientRequestExtra): RoutePlan {
  // Assigned, not spread: this runs for every call on /mcp/<backend>.
  const plan: RoutePlan = { backend, run: () => session.forward(backend, request, extra) };
  const { kind, target } = targetOf(request.method, params);
  if (kind !== undefined) plan.kind = kind;
  if (target !== undefined) plan.target = target;
  return plan;
}

const LIST_METHODS = new Set(["tools/list", "prompts/list", "resources/list", "resources/templates/list"]);

/** What a request is about, from its backend-native params (after any /mcp renaming). */
function targetOf(method: string, params: Params): { kind?: TargetKind; target?: string } {
  if (LIST_METHODS.has(method)) return {};
  switch (method) {
    case "tools/call":
      return { kind: "tool", target: String(params.name) };
    case "prompts/get":
      return { kind: "prompt", target: String(params.name) };
    case "resources/read":
    case "resources/subscribe":
    case "resources/unsubscribe":
      return { kind: "resource", target: String(params.uri) };
    case "completion/complete": {
      const ref = (params.ref ?? {}) as Params;
      return ref.type === "ref/prompt" ? { kind: "prompt", target: String(ref.name) } : { kind: "resource", target: String(ref.uri) };
    }
    default:
      return { kind: "method", target: method };
  }
}

function invalid(message: string): McpError {
  return new McpError(ErrorCode.InvalidParams, message);
}

/** The aggregated endpoint: names and URIs carry their backend; lists span every backend. */
function aggregateRoute(session: CallerSession, request: Request, params: Params, extra: ClientRequestExtra): RoutePlan {
  const forward = (backend: string, rewritten: Params, mapResult: (result: Result) => Result = (r) => r): RoutePlan => ({
    backend,
    ...targetOf(request.method, rewritten),
    run: async () => mapResult(await session.forward(backend, { method: request.method, params: rewritten }, extra)),
  });
  const byName = () => {
    const split = typeof params.name === "string" ? splitName(params.name) : undefined;
    if (!split) throw invalid(`"${String(params.name)}" does not name a backend: on /mcp names are <backend>__<name>`);
    return split;
  };
  const byUri = (uri: unknown) => {
    const split = typeof uri === "string" ? splitUri(uri) : undefined;
    if (!split) throw invalid(`"${String(uri)}" does not name a backend: on /mcp resource URIs are mcpgw://<backend>/<uri>`);
    return split;
  };
  switch (request.method) {
    case "tools/list":
      return { run: () => aggregateList(session, request, extra, "tools", (b, tool) => ({ ...tool, name: prefixName(b, String(tool.name)) })) };
    case "prompts/list":
      return { run: () => aggregateList(session, request, extra, "prompts", (b, prompt) => ({ ...prompt, name: prefixName(b, String(prompt.name)) })) };
    case "resources/list":
      return { run: () => aggregateList(session, request, extra, "resources", (b, r) => ({ ...r, uri: prefixUri(b, String(r.uri)) })) };
    case "resources/templates/list":
      return { run: () => aggregateList(session, request, extra, "resourceTemplates", (b, t) => ({ ...t, uriTemplate: prefixUri(b, String(t.uriTemplate)) })) };
    case "tools/call": {
      const { backend, name } = byName();
      return forward(backend, { ...params, name }, (result) => ({ ...result, content: prefixContentUris(backend, result.content) }));
    }
    case "prompts/get": {
      const { backend, name } = byName();
      return forward(backend, { ...params, name }, (result) => ({
        ...result,
        messages: Array.isArray(result.messages)
          ? result.messages.map((m: Params) => ({ ...m, content: (prefixContentUris(backend, [m.content]) as unknown[])[0] }))
          : result.messages,
      }));
    }
    case "resources/read": {
      const { backend, uri } = byUri(params.uri);
      return forward(backend, { ...params, uri }, (result) => ({
        ...result,
        contents: Array.isArray(result.contents) ? result.contents.map((c: Params) => ({ ...c, uri: prefixUri(backend, String(c.uri)) })) : result.contents,
      }));
    }
    case "completion/complete": {
      const ref = (params.ref ?? {}) as Params;
      if (ref.type === "ref/prompt") {
        const split = splitName(String(ref.name));
        if (!split) throw invalid(`prompt "${String(ref.name)}" does not name a backend`);
        return forward(split.backend, { ...params, ref: { ...ref, name: split.name } });
      }
      const { backend, uri } = byUri(ref.uri);
      return forward(backend, { ...params, ref: { ...ref, uri } });
    }
    default: {
      // A method the gateway cannot route by its params: with one backend there is no ambiguity.
      const names = session.backendNames();
      if (names.length === 1) return forward(names[0]!, params);
      throw new McpError(ErrorCode.MethodNotFound, `${request.method} cannot be routed on the aggregated endpoint /mcp; use /mcp/<backend>`);
    }
  }
}

/** Records the session's level (the gateway filters per session) and asks each backend for the most verbose level any of its clients wants. */
async function setLevel(session: CallerSession, params: Params, extra: ClientRequestExtra): Promise<Result> {
  const level = LoggingLevelSchema.safeParse(params.level);
  if (!level.success) throw invalid(`"${String(params.level)}" is not a logging level (${LoggingLevelSchema.options.join(", ")})`);
  session.logLevel = level.data;
  await Promise.all(
    session.backendNames().map(async (backend) => {
      // Sharers that never set a level count at this one; each session is filtered to its own level anyway.
      const levels = session.othersSharing(backend).map((other) => other.requestedLogLevel() ?? level.data);
      const mostVerbose = levels.reduce<LoggingLevel>((a, b) => ((SEVERITY.get(a) ?? 0) <= (SEVERITY.get(b) ?? 0) ? a : b), level.data);
      try {
        await session.forward(backend, { method: "logging/setLevel", params: { ...params, level: mostVerbose } }, extra);
      } catch (err) {
        // A backend without logging support still gets the gateway's own filtering.
        session.log.debug({ backend, err: String(err) }, "backend did not take logging/setLevel");
      }
    }),
  );
  return {};
}

/** Subscriptions are tracked per session (updates go only to subscribers); a shared backend unsubscribes when the last subscriber does. */
function subscription(session: CallerSession, request: Request, params: Params, extra: ClientRequestExtra): RoutePlan {
  const clientUri = String(params.uri);
  const split = session.route.kind === "aggregate" ? splitUri(clientUri) : { backend: session.route.backend, uri: clientUri };
  if (!split) throw invalid(`"${clientUri}" does not name a backend: on /mcp resource URIs are mcpgw://<backend>/<uri>`);
  const subscribe = request.method === "resources/subscribe";
  return {
    backend: split.backend,
    kind: "resource",
    target: split.uri,
    async run() {
      if (subscribe) session.subscriptions.add(clientUri);
      else session.subscriptions.delete(clientUri);
      const othersStillSubscribed = session.othersSharing(split.backend).some((other) => other.isSubscribed(split.backend, split.uri));
      if (!subscribe && othersStillSubscribed) return {};
      return session.forward(split.backend, { method: request.method, params: { ...params, uri: split.uri } }, extra);
    },
  };
}
