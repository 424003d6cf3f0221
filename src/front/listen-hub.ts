import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import type { JSONRPCRequest, Notification, RequestId } from "@modelcontextprotocol/sdk/types.js";
import type { BackendConnection } from "../backends/backend-connection.ts";
import type { BackendPool, SessionSink } from "../backends/backend-pool.ts";
import type { BackendRegistry } from "../backends/backend-registry.ts";
import { describeError } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import type { SessionRoute } from "../pipeline/caller-session.ts";
import type { Principal } from "../auth/principal.ts";
import type { PolicyEngine } from "../policy/policy-engine.ts";
import { prefixUri, splitUri } from "../pipeline/aggregate-names.ts";
import { EventWriter, SSE_HEADERS } from "./event-writer.ts";
import { META } from "../protocol/modern.ts";

/** What a subscriptions/listen request may ask for (2026-07-28 basic/patterns/subscriptions). */
interface SubscriptionFilter {
  toolsListChanged?: boolean;
  promptsListChanged?: boolean;
  resourcesListChanged?: boolean;
  resourceSubscriptions?: string[];
}

const LIST_CHANGED: Record<string, keyof SubscriptionFilter> = {
  "notifications/tools/list_changed": "toolsListChanged",
  "notifications/prompts/list_changed": "promptsListChanged",
  "notifications/resources/list_changed": "resourcesListChanged",
};

/** A resource as a backend names it, as one key. */
const resourceKey = (backend: string, uri: string) => `${backend}\u0000${uri}`;

interface Listener {
  id: RequestId;
  route: SessionRoute;
  honored: SubscriptionFilter;
  /** Backend resource key → the URI as this client named it. */
  resources: Map<string, string>;
  writer: EventWriter;
  credential: AuthInfo;
  keepAlive: ReturnType<typeof setInterval>;
}

export interface ListenHubDeps {
  registry: BackendRegistry;
  pool: BackendPool;
  policy: PolicyEngine;
  logger: Logger;
}

/** A quiet stream gets an SSE comment this often, so proxies do not end it as idle. */
const KEEP_ALIVE_MS = 15_000;

/**
 * subscriptions/listen for 2026-07-28 clients: each listen request is a long-lived event stream
 * carrying only the notification types its client opted in to, tagged with the listen request's
 * id. The gateway acknowledges what it will deliver: list changes of the route's backends, and
 * updates of resources the caller's roles allow it to read. The notifications come from the
 * backends' shared connections (a 2025-era backend is subscribed to a resource there, once, while
 * any listener wants it).
 */
export class ListenHub {
  private readonly listeners = new Set<Listener>();
  /** Listeners per backend resource, for subscribing at the backend once and unsubscribing after the last. */
  private readonly resourceCounts = new Map<string, number>();
  /** The gateway's own subscriptions/listen at each 2026-07-28 backend, with the resources it names. */
  private readonly upstream = new Map<BackendConnection, { controller: AbortController; uris: Set<string> }>();

  constructor(
    private readonly deps: ListenHubDeps,
    private readonly sink: SessionSink,
  ) {}

  get size(): number {
    return this.listeners.size;
  }

  async listen(route: SessionRoute, principal: Principal | undefined, credential: AuthInfo, message: JSONRPCRequest): Promise<Response> {
    const requested = ((message.params as { notifications?: unknown } | undefined)?.notifications ?? {}) as SubscriptionFilter;
    const backends = route.kind === "backend" ? [route.backend] : this.deps.registry.list().map((s) => s.name);
    // Notifications flow on open connections only: open each backend of the route (failures leave it out).
    const connections = new Map<string, BackendConnection>();
    await Promise.all(
      backends.map(async (name) => {
        const spec = this.deps.registry.get(name);
        if (!spec) return;
        const connection = this.deps.pool.acquire(spec, this.sink, {});
        try {
          await connection.connect();
          connections.set(name, connection);
        } catch (err) {
          this.deps.logger.debug({ backend: name, err: describeError(err) }, "backend left out of a subscriptions/listen stream");
        }
      }),
    );
    // A 2026-07-28 backend sends change notifications only on a listen stream: the gateway keeps one open at it.
    for (const connection of connections.values())
      if (connection.era === "modern" && !this.upstream.has(connection)) this.listenUpstream(connection, new Set());
    const honored: SubscriptionFilter = {};
    for (const flag of Object.values(LIST_CHANGED)) if (requested[flag] === true) (honored as Record<string, boolean>)[flag] = true;
    const resources = new Map<string, string>();
    const roles = principal && !principal.anonymous ? this.deps.policy.current.rolesOf(principal.subject, principal.roles) : undefined;
    for (const clientUri of Array.isArray(requested.resourceSubscriptions) ? requested.resourceSubscriptions : []) {
      if (typeof clientUri !== "string") continue;
      const target = route.kind === "aggregate" ? splitUri(clientUri) : { backend: route.backend, uri: clientUri };
      const connection = target && connections.get(target.backend);
      if (!target || !connection?.serverCapabilities.resources?.subscribe) continue;
      if (roles && !this.deps.policy.current.decide(roles, { kind: "resource", backend: target.backend, name: target.uri }).allowed) continue;
      if (await this.subscribe(connection, target.uri)) resources.set(resourceKey(target.backend, target.uri), clientUri);
    }
    if (resources.size > 0) honored.resourceSubscriptions = [...resources.values()];
    const listener: Listener = {
      id: message.id,
      route,
      honored,
      resources,
      credential,
      writer: new EventWriter(() => this.remove(listener)),
      keepAlive: setInterval(() => listener.writer.keepAlive(), KEEP_ALIVE_MS),
    };
    listener.keepAlive.unref?.();
    this.listeners.add(listener);
    listener.writer.send({
      jsonrpc: "2.0",
      method: "notifications/subscriptions/acknowledged",
      params: { _meta: { [META.subscriptionId]: message.id }, notifications: honored },
    });
    return new Response(listener.writer.stream, { headers: SSE_HEADERS });
  }

  /** Whether some listener wants updates of this backend resource (a legacy session sharing the connection must not unsubscribe it). */
  isSubscribed(backend: string, uri: string): boolean {
    return this.resourceCounts.has(resourceKey(backend, uri));
  }

  /** A notification from a backend's shared connection: to every listener that opted in to it. */
  deliver(backend: string, notification: Notification): void {
    const flag = LIST_CHANGED[notification.method];
    const updatedUri = notification.method === "notifications/resources/updated" ? (notification.params as { uri?: unknown } | undefined)?.uri : undefined;
    if (flag === undefined && typeof updatedUri !== "string") return;
    for (const listener of this.listeners) {
      if (listener.route.kind === "backend" && listener.route.backend !== backend) continue;
      const subscriptionMeta = { [META.subscriptionId]: listener.id };
      if (flag !== undefined) {
        if (listener.honored[flag]) listener.writer.send({ jsonrpc: "2.0", method: notification.method, params: { _meta: subscriptionMeta } });
        continue;
      }
      const uri = updatedUri as string;
      if (!this.wants(listener, backend, uri)) continue;
      const clientUri = listener.route.kind === "aggregate" ? prefixUri(backend, uri) : uri;
      listener.writer.send({ jsonrpc: "2.0", method: notification.method, params: { ...notification.params, uri: clientUri, _meta: subscriptionMeta } });
    }
  }

  /** Ends streams whose credential is no longer valid (revoked, expired); the client may listen again with a valid one. */
  closeUnauthorized(stillValid: (credential: AuthInfo) => boolean): void {
    for (const listener of this.listeners) if (!stillValid(listener.credential)) this.end(listener);
  }

  /** Ends every stream gracefully: the listen request's result, then the end of the stream (shutdown). */
  closeAll(): void {
    for (const listener of this.listeners) this.end(listener);
    for (const { controller } of this.upstream.values()) controller.abort();
    this.upstream.clear();
  }

  /** A backend resource update concerns a listener subscribed to it, or to a resource it is part of. */
  private wants(listener: Listener, backend: string, uri: string): boolean {
    if (listener.resources.has(resourceKey(backend, uri))) return true;
    for (const key of listener.resources.keys()) {
      const [keyBackend, keyUri] = key.split("\u0000") as [string, string];
      if (keyBackend === backend && uri.startsWith(keyUri.endsWith("/") ? keyUri : `${keyUri}/`)) return true;
    }
    return false;
  }

  private end(listener: Listener): void {
    listener.writer.end({ jsonrpc: "2.0", id: listener.id, result: { resultType: "complete", _meta: { [META.subscriptionId]: listener.id } } });
    this.remove(listener);
  }

  private remove(listener: Listener): void {
    if (!this.listeners.delete(listener)) return;
    clearInterval(listener.keepAlive);
    for (const key of listener.resources.keys()) void this.unsubscribe(key);
  }

  /**
   * Opens (or reopens, when the resources it names change) the gateway's listen stream at a
   * 2026-07-28 backend, on the shared connection: what arrives on it goes to the pool's sinks,
   * this hub's among them, as any notification of that connection does.
   */
  private listenUpstream(connection: BackendConnection, uris: Set<string>): void {
    this.upstream.get(connection)?.controller.abort();
    const controller = new AbortController();
    this.upstream.set(connection, { controller, uris });
    const notifications = {
      toolsListChanged: true,
      promptsListChanged: true,
      resourcesListChanged: true,
      ...(uris.size > 0 && { resourceSubscriptions: [...uris] }),
    };
    connection
      // It lasts until the gateway ends it: no timeout (the longest a timer takes).
      .request({ method: "subscriptions/listen", params: { notifications } }, { signal: controller.signal, timeoutMs: 2 ** 31 - 1 })
      .catch((err) => {
        if (controller.signal.aborted) return;
        this.deps.logger.debug({ backend: connection.name, err: describeError(err) }, "listen stream at the backend ended");
        if (this.upstream.get(connection)?.controller === controller) this.upstream.delete(connection);
      });
  }

  /** Subscribes the shared connection to a backend resource unless a listener already did. */
  private async subscribe(connection: BackendConnection, uri: string): Promise<boolean> {
    const key = resourceKey(connection.name, uri);
    const count = this.resourceCounts.get(key) ?? 0;
    if (count === 0 && connection.era === "modern") {
      const uris = new Set(this.upstream.get(connection)?.uris);
      uris.add(uri);
      this.listenUpstream(connection, uris);
    } else if (count === 0) {
      try {
        await connection.request({ method: "resources/subscribe", params: { uri } });
      } catch (err) {
        this.deps.logger.debug({ backend: connection.name, uri, err: describeError(err) }, "backend refused a resource subscription");
        return false;
      }
    }
    this.resourceCounts.set(key, count + 1);
    return true;
  }

  private async unsubscribe(key: string): Promise<void> {
    const count = (this.resourceCounts.get(key) ?? 1) - 1;
    if (count > 0) return void this.resourceCounts.set(key, count);
    this.resourceCounts.delete(key);
    const [backend, uri] = key.split("\u0000") as [string, string];
    const spec = this.deps.registry.get(backend);
    if (!spec) return;
    const connection = this.deps.pool.acquire(spec, this.sink, {});
    const listening = this.upstream.get(connection);
    if (connection.era === "modern") {
      if (listening?.uris.has(uri)) this.listenUpstream(connection, new Set([...listening.uris].filter((u) => u !== uri)));
      return;
    }
    // A 2025 session on the same shared connection may still be subscribed to it.
    if ([...(this.deps.pool.sharers(connection) ?? [])].some((other) => other !== this.sink && other.isSubscribed(backend, uri))) return;
    await connection
      .request({ method: "resources/unsubscribe", params: { uri } })
      .catch((err) => this.deps.logger.debug({ backend, uri, err: describeError(err) }, "resource unsubscribe not sent"));
  }
}
