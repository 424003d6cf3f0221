import { processEnvironment } from "../../src/config/env.ts";
import { backendPinState, backendsWithPins } from "../../src/operator-calls/backend-pin-state.ts";
import {
  type ProbeContext,
  type UseStore,
  addBackend,
  backendView,
  patternsNaming,
  requireBackend,
  testBackend,
  updateBackend,
} from "../../src/operator-calls/backend-service.ts";
import { limitRuleFromInput, limitView, readLimitUsage, requireLimit, updateLimit } from "../../src/operator-calls/limit-service.ts";
import { createRole, grantRole, requireRole, revokeRole, roleDeletionConsequences, roleView, updateRole } from "../../src/operator-calls/role-service.ts";
import { checkTokenIssue, issueCheckedToken, liveTokensOf, tokenView } from "../../src/operator-calls/token-service.ts";
import { describeDangling } from "../../src/policy/role-references.ts";
import { type CommandContext, withStore } from "../context.ts";
import { VERSION } from "../version.ts";
import type { BackendOperations, LimitOperations, Operations, ProbeView, RoleOperations, TokenOperations } from "./operations.ts";

/**
 * The operations over the database (--db): the services of src/operator-calls on a store opened
 * for the call and closed after it, as the commands did before the seam. A destructive
 * operation looks, confirms and changes within one open store.
 */
export function storeOperations(context: CommandContext): Operations {
  return { roles: storeRoles(context), tokens: storeTokens(context), limits: storeLimits(context), backends: storeBackends(context) };
}

function storeRoles(context: CommandContext): RoleOperations {
  return {
    list: () => withStore(context, async (store) => (await store.roles.list()).map(roleView)),
    show: (name) => withStore(context, async (store) => roleView(await requireRole(store, name))),
    async create(name, input) {
      const { role, dangling } = await withStore(context, (store) => createRole(store, name, input));
      return { role: roleView(role), warnings: dangling.map(describeDangling) };
    },
    async update(name, input) {
      const { after, dangling } = await withStore(context, (store) => updateRole(store, name, input));
      return { role: roleView(after), warnings: dangling.map(describeDangling) };
    },
    delete: (name, confirm) =>
      withStore(context, async (store) => {
        const role = await requireRole(store, name);
        await confirm(roleView(role), await roleDeletionConsequences(store, role));
        await store.roles.delete(name);
        return roleView(role);
      }),
    grant: async (role, subject) => (await withStore(context, (store) => grantRole(store, role, subject))).after,
    revoke: async (role, subject) => (await withStore(context, (store) => revokeRole(store, role, subject))).after,
  };
}

function storeTokens(context: CommandContext): TokenOperations {
  return {
    async issue(input) {
      const request = checkTokenIssue(input);
      const issued = await withStore(context, (store) => issueCheckedToken(store, context.settings.auth, request));
      return {
        token: issued.token,
        ...tokenView(issued.record),
        kid: issued.kid,
        issuer: context.settings.auth.tokenIssuer,
        audience: context.settings.auth.tokenAudience,
      };
    },
    list: () =>
      withStore(context, async (store) => {
        const now = Date.now();
        return (await store.tokens.list()).map((token) => tokenView(token, now));
      }),
    revoke: (jti) => withStore(context, (store) => store.tokens.revoke(jti, Date.now())),
    revokeAllFor: (subject, confirm) =>
      withStore(context, async (store) => {
        const now = Date.now();
        const live = await liveTokensOf(store, subject, now);
        if (live.length === 0) return [];
        await confirm(live.map((token) => tokenView(token, now)));
        return store.tokens.revokeAllFor(subject, Date.now());
      }),
  };
}

function storeLimits(context: CommandContext): LimitOperations {
  return {
    async set(input) {
      const { rule, replaced } = await withStore(context, (store) => store.limits.set(limitRuleFromInput(input)));
      return { limit: limitView(rule), replaced: replaced.map(limitView) };
    },
    update: async (id, input) => limitView((await withStore(context, (store) => updateLimit(store, id, input))).after),
    list: () => withStore(context, async (store) => (await store.limits.list()).map(limitView)),
    usage: () => withStore(context, async (store) => (await readLimitUsage(store)).map(({ view }) => view)),
    remove: (id) =>
      withStore(context, async (store) => {
        const rule = await requireLimit(store, id);
        await store.limits.remove(id);
        return limitView(rule);
      }),
  };
}

/** What testing found, without the definitions (only `backend pin` lists them). */
function probeView(probe: ProbeView & { definitions?: unknown }): ProbeView {
  const { definitions: _definitions, ...rest } = probe;
  return rest;
}

function storeBackends(context: CommandContext): BackendOperations {
  // Each step opens the store and closes it again: none is held while a slow backend is tested.
  const useStore: UseStore = (fn) => withStore(context, fn);
  // ${VAR}s resolve as the gateway would resolve them here: this environment and ./.env.
  const probeContext = (): ProbeContext => ({ env: processEnvironment(), logger: context.adminLogger(), clientVersion: VERSION });
  return {
    async add(name, flags) {
      const { spec, policy, probe } = await addBackend(useStore, name, flags, probeContext());
      return { backend: backendView(spec), ...(policy && { pinning: policy }), ...(probe && { tested: probeView(probe) }) };
    },
    async update(name, flags, onPinPolicy) {
      const result = await updateBackend(useStore, name, flags, probeContext(), onPinPolicy);
      return {
        backend: backendView(result.after ?? result.before),
        ...(result.policy && { pinning: result.policy }),
        changed: result.after ? result.changed : [],
        dropped: result.dropped,
        ...(result.probe && { tested: probeView(result.probe) }),
      };
    },
    list: () => withStore(context, async (store) => (await backendsWithPins(store)).map(({ spec, pins }) => ({ ...backendView(spec), pins }))),
    show: (name) => withStore(context, async (store) => ({ ...backendView(await requireBackend(store, name)), pins: await backendPinState(store, name) })),
    remove: (name, confirm) =>
      withStore(context, async (store) => {
        await requireBackend(store, name);
        const unmatched = await patternsNaming(store, name);
        await confirm(unmatched);
        await store.backends.remove(name);
        return unmatched;
      }),
    async test(name) {
      const spec = await withStore(context, (store) => requireBackend(store, name));
      // The store is closed before connecting: a slow backend must not hold a database connection.
      return probeView(await testBackend(spec, { env: process.env, logger: context.adminLogger(), clientVersion: VERSION }));
    },
  };
}
