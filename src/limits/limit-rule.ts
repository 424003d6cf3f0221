import { assertNever } from "../assert-never.ts";
import { UsageError } from "../errors.ts";
import { globToRegExp } from "../policy/glob.ts";

export type LimitScope = "subject" | "role" | "global";

/** A rate-limit rule as stored. */
export interface LimitRule {
  id: string;
  scope: LimitScope;
  /** The subject or role; absent for global rules. */
  scopeValue?: string;
  /** BACKEND/TOOL glob: the rule counts only tools/call of matching tools. */
  toolPattern?: string;
  count: number;
  periodMs: number;
  burst: number;
  createdAt: number;
}

const PERIODS = { s: 1_000, sec: 1_000, min: 60_000, m: 60_000, h: 3_600_000, hour: 3_600_000, day: 86_400_000, d: 86_400_000 } as const;
const RATE = /^\s*(\d+)\s*\/\s*(s|sec|min|m|h|hour|day|d)\s*$/;

/** "10/min" → 10 calls per 60 000 ms. */
export function parseRate(text: string): { count: number; periodMs: number } {
  const match = RATE.exec(text);
  const count = Number(match?.[1]);
  if (!match || !Number.isSafeInteger(count) || count < 1) {
    throw new UsageError(`--rate "${text}" is not a rate`, "write N/s, N/min, N/h or N/day with N ≥ 1, e.g. --rate 100/min");
  }
  return { count, periodMs: PERIODS[match[2] as keyof typeof PERIODS] };
}

/** "10/min" again, for display. */
export function formatRate(rule: Pick<LimitRule, "count" | "periodMs">): string {
  const unit = Object.entries({ s: 1_000, min: 60_000, h: 3_600_000, day: 86_400_000 }).find(([, ms]) => ms === rule.periodMs)?.[0];
  return unit ? `${rule.count}/${unit}` : `${rule.count}/${rule.periodMs}ms`;
}

/** Throws a UsageError unless the pattern is BACKEND/TOOL (globs allowed). */
export function assertToolPattern(pattern: string): void {
  if (!/^[^/\s]+\/[^/\s]+$/.test(pattern))
    throw new UsageError(`--tool "${pattern}" is not BACKEND/TOOL`, "write e.g. --tool github/create_issue or --tool 'github/*'");
}

/** Calls a rule can count: those that reach a tool, a resource or a prompt (lists are free). */
export const LIMITED_METHODS: ReadonlySet<string> = new Set(["tools/call", "resources/read", "prompts/get"]);

/** A rule ready for the hot path: globs compiled, scope checked without allocation. */
export interface CompiledLimitRule {
  rule: LimitRule;
  matches(call: { subject: string; roles: readonly string[]; method: string; backend?: string; tool?: string }): boolean;
  /** The bucket a call of this subject fills: one per subject, or one for everyone (global rules). */
  key(subject: string): string;
}

export function compileLimitRule(rule: LimitRule): CompiledLimitRule {
  const tool = rule.toolPattern === undefined ? undefined : (rule.toolPattern.split("/").map(globToRegExp) as [RegExp, RegExp]);
  return {
    rule,
    matches(call) {
      if (!LIMITED_METHODS.has(call.method)) return false;
      if (tool && (call.method !== "tools/call" || !tool[0].test(call.backend ?? "") || !tool[1].test(call.tool ?? ""))) return false;
      switch (rule.scope) {
        case "global":
          return true;
        case "subject":
          return call.subject === rule.scopeValue;
        case "role":
          return call.roles.includes(rule.scopeValue ?? "");
        default:
          return assertNever(rule.scope);
      }
    },
    key: (subject) => (rule.scope === "global" ? rule.id : `${rule.id}:${subject}`),
  };
}
