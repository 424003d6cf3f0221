import type { Request, Result } from "@modelcontextprotocol/sdk/types.js";
import { splitName, splitUri } from "./aggregate-names.ts";
import type { CallerSession } from "./caller-session.ts";
import { GatewayErrorCode } from "../protocol/gateway-errors.ts";
import type { TargetKind } from "../policy/permission.ts";
import type { Policy, Target } from "../policy/policy.ts";
import type { Principal } from "../auth/principal.ts";
import { Refusal } from "./refusal.ts";
import type { RoutePlan } from "./route.ts";

/** What authorization decided for a request that may go ahead. */
export interface Authorization {
  /** The rule that allowed it, for the audit record. */
  rule?: string;
  /** For list methods: removes what the caller may not use. */
  filter?(result: Result): Result;
}

type Item = Record<string, unknown>;

/** For each list method: the result key, the kind of its items, and the field naming an item. */
const LISTS: Record<string, { key: string; kind: TargetKind; field: string }> = {
  "tools/list": { key: "tools", kind: "tool", field: "name" },
  "prompts/list": { key: "prompts", kind: "prompt", field: "name" },
  "resources/list": { key: "resources", kind: "resource", field: "uri" },
  "resources/templates/list": { key: "resourceTemplates", kind: "resource", field: "uriTemplate" },
};

/**
 * Stage 3: may this principal make this call? Calls to a tool, resource, prompt or other method
 * are decided by the policy (deny wins, default deny) and refused with an error that says it was
 * policy; lists are filtered to what the caller may use. The anonymous principal (MCPGW_AUTH=off)
 * is not subject to policy.
 */
export function authorize(policy: Policy, principal: Principal, roles: string[], session: CallerSession, request: Request, plan: RoutePlan): Authorization {
  if (principal.anonymous) return {};
  const list = LISTS[request.method];
  if (list) return { filter: (result) => filterList(policy, roles, session, list, result) };
  if (plan.kind === undefined || plan.target === undefined || plan.backend === undefined) return {};
  return authorizeCall(
    policy,
    principal,
    roles,
    { kind: plan.kind, backend: plan.backend, name: plan.target },
    policyArguments(plan.kind, request.params, plan.target),
  );
}

/**
 * What a rule's argument conditions are checked against: a tool call's arguments, or any other
 * request's params as the backend receives them. On /mcp a prompt's name and a resource's URI
 * carry the backend's prefix, which the route took off (`target`): conditions see them without
 * it, so that a deny on `uri` or `name` holds there as on /mcp/<backend>.
 */
export function policyArguments(kind: TargetKind, params: unknown, target?: string): unknown {
  if (kind === "tool") return (params as { arguments?: unknown } | undefined)?.arguments;
  if (target === undefined || params === null || typeof params !== "object") return params;
  if (kind === "prompt" && "name" in params) return { ...params, name: target };
  if (kind === "resource" && "uri" in params) return { ...params, uri: target };
  return params;
}

/** The policy decision for one call to a tool, resource, prompt or method; a Refusal when denied. Also used by jobs. */
export function authorizeCall(policy: Policy, principal: Principal, roles: string[], target: Target, args: unknown): Authorization {
  if (principal.anonymous) return {};
  const decision = policy.decide(roles, target, args);
  if (decision.allowed) return { rule: decision.rule };
  throw new Refusal(
    "denied",
    GatewayErrorCode.DeniedByPolicy,
    `denied by policy: "${principal.subject}" may not use ${target.kind} "${target.backend}/${target.name}" (${decision.rule})`,
    { subject: principal.subject, kind: target.kind, backend: target.backend, target: target.name, rule: decision.rule },
    decision.rule,
  );
}

function filterList(policy: Policy, roles: string[], session: CallerSession, list: (typeof LISTS)[string], result: Result): Result {
  const items = result[list.key];
  if (!Array.isArray(items)) return result;
  const visible = (items as Item[]).filter((item) => {
    const named = String(item[list.field]);
    const target =
      session.route.kind === "backend"
        ? { backend: session.route.backend, name: named }
        : list.kind === "resource"
          ? (() => {
              const split = splitUri(named);
              return split && { backend: split.backend, name: split.uri };
            })()
          : splitName(named);
    return target !== undefined && policy.visible(roles, { kind: list.kind, ...target });
  });
  return { ...result, [list.key]: visible };
}
