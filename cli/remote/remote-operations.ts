import { DEFAULT_BACKEND_TIMEOUT_MS } from "../../src/backends/backend-spec.ts";
import { parseDuration } from "../../src/config/duration.ts";
import type { RemoteServer } from "../../src/config/settings.ts";
import type { LimitUsageView, LimitView } from "../../src/operator-calls/limit-service.ts";
import type { RoleView } from "../../src/operator-calls/role-service.ts";
import type { TokenView } from "../../src/operator-calls/token-service.ts";
import type { BackendView } from "../../src/operator-calls/backend-service.ts";
import type {
  BackendAddedView,
  BackendOperations,
  BackendUpdatedView,
  BackendWithPins,
  IssuedTokenView,
  LimitOperations,
  Operations,
  ProbeView,
  RoleChanged,
  RoleOperations,
  TokenOperations,
} from "../operations/operations.ts";
import { type AdminClient, adminClient } from "./admin-client.ts";

/**
 * The operations over a running gateway's admin API (`--server URL`): each is one or two requests
 * to /v1/admin/… (docs/console.md), which run the same services on the gateway's store. A
 * destructive operation first asks the route for a dry run (`?dryRun=true`: what would go,
 * nothing changed), confirms, then sends the change.
 */
export function remoteOperations(server: RemoteServer): Operations {
  warnIfTokenInClear(server);
  const client = adminClient(server);
  return { roles: remoteRoles(client), tokens: remoteTokens(client), limits: remoteLimits(client), backends: remoteBackends(client) };
}

/**
 * An admin token sent over plain HTTP to another machine can be read on the way: said on stderr
 * (the command still runs: a trusted network, or a TLS proxy on the same host, is the operator's call).
 */
function warnIfTokenInClear(server: RemoteServer): void {
  const url = new URL(server.url);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const loopback = host === "localhost" || host === "::1" || /^127\./.test(host);
  if (url.protocol === "http:" && !loopback) {
    process.stderr.write(
      `warning: ${server.source} is plain http to ${url.host}: the admin token crosses the network unencrypted; use https:// outside a trusted network\n`,
    );
  }
}

/** A path segment: names, subjects and jtis may hold characters a URL path does not. */
const seg = encodeURIComponent;
const DRY_RUN = { query: { dryRun: "true" } };

function remoteRoles(api: AdminClient): RoleOperations {
  return {
    list: async () => (await api.request<{ roles: RoleView[] }>("GET", "/v1/admin/roles")).roles,
    show: (name) => api.request<RoleView>("GET", `/v1/admin/roles/${seg(name)}`),
    create: (name, input) => api.request<RoleChanged>("POST", "/v1/admin/roles", { body: { name, ...input } }),
    update: (name, input) => api.request<RoleChanged>("PATCH", `/v1/admin/roles/${seg(name)}`, { body: input }),
    async delete(name, confirm) {
      const { consequences, ...role } = await api.request<RoleView & { consequences: string[] }>("DELETE", `/v1/admin/roles/${seg(name)}`, DRY_RUN);
      await confirm(role, consequences);
      const { consequences: _gone, ...deleted } = await api.request<RoleView & { consequences: string[] }>("DELETE", `/v1/admin/roles/${seg(name)}`);
      return deleted;
    },
    grant: async (role, subject) => (await api.request<{ subjects: string[] }>("PUT", `/v1/admin/roles/${seg(role)}/subjects/${seg(subject)}`)).subjects,
    revoke: async (role, subject) => (await api.request<{ subjects: string[] }>("DELETE", `/v1/admin/roles/${seg(role)}/subjects/${seg(subject)}`)).subjects,
  };
}

function remoteTokens(api: AdminClient): TokenOperations {
  return {
    issue: (input) => api.request<IssuedTokenView>("POST", "/v1/admin/tokens", { body: input }),
    list: async () => (await api.request<{ tokens: TokenView[] }>("GET", "/v1/admin/tokens")).tokens,
    revoke: async (jti) => (await api.request<{ outcome: "revoked" | "already-revoked" }>("DELETE", `/v1/admin/tokens/${seg(jti)}`)).outcome,
    async revokeAllFor(subject, confirm) {
      const { revoked: live } = await api.request<{ revoked: TokenView[] }>("POST", "/v1/admin/tokens/revoke", { body: { sub: subject }, ...DRY_RUN });
      if (live.length === 0) return [];
      await confirm(live);
      return (await api.request<{ revoked: TokenView[] }>("POST", "/v1/admin/tokens/revoke", { body: { sub: subject } })).revoked.map((token) => token.jti);
    },
  };
}

function remoteLimits(api: AdminClient): LimitOperations {
  return {
    set: (input) => api.request<{ limit: LimitView; replaced: LimitView[] }>("POST", "/v1/admin/limits", { body: input }),
    update: (id, input) => api.request<LimitView>("PATCH", `/v1/admin/limits/${seg(id)}`, { body: input }),
    list: async () => (await api.request<{ limits: LimitView[] }>("GET", "/v1/admin/limits")).limits,
    usage: async () => (await api.request<{ usage: LimitUsageView[] }>("GET", "/v1/admin/limits/usage")).usage,
    remove: (id) => api.request<LimitView>("DELETE", `/v1/admin/limits/${seg(id)}`),
  };
}

/** Testing a backend may take its whole timeout (up to an hour): wait for the gateway that long and 30 s more, at least 2 min. */
function testTimeoutMs(backendTimeoutMs: number): number {
  return Math.max(120_000, backendTimeoutMs + 30_000);
}

/** A --timeout given, in ms; a malformed one is left to the gateway to refuse. */
function givenTimeoutMs(given: string | undefined): number | undefined {
  try {
    return given === undefined ? undefined : parseDuration(given, "--timeout");
  } catch {
    return undefined;
  }
}

/** The timeout the backend has, as registered (unknown, e.g. no such backend: the default; the request itself says why). */
async function storedTimeoutMs(api: AdminClient, name: string): Promise<number> {
  try {
    return (await api.request<BackendView>("GET", `/v1/admin/backends/${seg(name)}`)).timeoutMs;
  } catch {
    return DEFAULT_BACKEND_TIMEOUT_MS;
  }
}

/** A flag was given: a value, or a repeatable flag with at least one item. */
function given(value: unknown): boolean {
  return Array.isArray(value) ? value.length > 0 : value !== undefined;
}

function remoteBackends(api: AdminClient): BackendOperations {
  return {
    async add(name, flags) {
      const timeoutMs = testTimeoutMs(givenTimeoutMs(flags.timeout) ?? DEFAULT_BACKEND_TIMEOUT_MS);
      return api.request<BackendAddedView>("POST", "/v1/admin/backends", { body: { name, ...flags }, timeoutMs });
    },
    async update(name, flags, onPinPolicy) {
      const timeoutMs = testTimeoutMs(givenTimeoutMs(flags.timeout) ?? (await storedTimeoutMs(api, name)));
      const patch = (body: object) => api.request<BackendUpdatedView>("PATCH", `/v1/admin/backends/${seg(name)}`, { body, timeoutMs });
      const { pinMode, driftMode, suspicious, test, ...settings } = flags;
      const pins = { pinMode, driftMode, suspicious };
      // Pinning modes and settings together: the modes first, on their own, as the service sets them
      // first on a database; so they are heard, and stay set, even when testing the new settings fails.
      if (Object.values(pins).some(given) && Object.values(settings).some(given)) {
        const pinned = await patch(pins);
        onPinPolicy(pinned.pinning);
        const answer = await patch({ ...settings, ...(test !== undefined && { test }) });
        return { ...answer, ...(pinned.pinning && { pinning: pinned.pinning }), changed: answer.changed ?? [], dropped: answer.dropped ?? [] };
      }
      const answer = await patch(flags);
      if (answer.pinning) onPinPolicy(answer.pinning);
      return { ...answer, changed: answer.changed ?? [], dropped: answer.dropped ?? [] };
    },
    list: async () => (await api.request<{ backends: BackendWithPins[] }>("GET", "/v1/admin/backends")).backends,
    show: (name) => api.request<BackendWithPins>("GET", `/v1/admin/backends/${seg(name)}`),
    async remove(name, confirm) {
      const { unmatched } = await api.request<{ backend: BackendView; unmatched: string[] }>("DELETE", `/v1/admin/backends/${seg(name)}`, DRY_RUN);
      await confirm(unmatched);
      return (await api.request<{ unmatched: string[] }>("DELETE", `/v1/admin/backends/${seg(name)}`)).unmatched;
    },
    async test(name) {
      const timeoutMs = testTimeoutMs(await storedTimeoutMs(api, name));
      return api.request<ProbeView>("POST", `/v1/admin/backends/${seg(name)}/test`, { timeoutMs });
    },
  };
}
