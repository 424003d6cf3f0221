import { assertNever } from "../assert-never.ts";
import { inField } from "../errors.ts";
import { policyArguments } from "../pipeline/authorize.ts";
import type { Policy, Target } from "../policy/policy.ts";
import { parseTargetText } from "../policy/target-text.ts";

/**
 * "May SUBJECT call BACKEND/TOOL with these arguments, and which rule decides?", answered by the
 * policy in force exactly as the pipeline decides a call: the subject's roles are those granted
 * to it plus those its token would carry, and the arguments reach the rules' conditions in the
 * form a call to /mcp/<backend> gives them (a tool's arguments; a prompt's or resource's params).
 */

export interface PolicyCheckInput {
  subject: string;
  /** Roles a token would carry, beside those granted to the subject. */
  roles?: string[];
  /** `[kind:]BACKEND/NAME`: `github/create_issue`, `resource:fs/file:///x`, `prompt:docs/intro`, `admin:write`. */
  target: string;
  arguments?: Record<string, unknown>;
}

export interface PolicyCheckAnswer {
  allowed: boolean;
  rule: string;
  /** The roles that counted: granted and given. */
  roles: string[];
  target: Target;
}

export function checkPolicy(policy: Policy, input: PolicyCheckInput): PolicyCheckAnswer {
  const target = inField("target", () => parseTargetText(input.target));
  const roles = policy.rolesOf(input.subject, input.roles ?? []);
  const decision = policy.decide(roles, target, policyArguments(target.kind, requestParams(target, input.arguments)));
  return { allowed: decision.allowed, rule: decision.rule, roles, target };
}

/** The params of the request a client would send to /mcp/<backend> for this target. */
function requestParams(target: Target, args: Record<string, unknown> | undefined): unknown {
  switch (target.kind) {
    case "tool":
    case "prompt":
      return { name: target.name, ...(args !== undefined && { arguments: args }) };
    case "resource":
      return { uri: target.name };
    case "method":
      return args ?? {};
    case "admin":
      return undefined;
    default:
      return assertNever(target.kind);
  }
}
