import { NotFoundError, UsageError, fieldError, inField } from "../errors.ts";
import { type LimitRule, assertToolPattern, formatRate, parseRate } from "../limits/limit-rule.ts";
import type { LimitRepository } from "../limits/limit-repository.ts";
import { limitUsage } from "../limits/limit-usage.ts";

/**
 * Rate-limit rules as `mcpgw limit …` and the admin API (/v1/admin/limits) set, change and show
 * them: one implementation of the checks and defaults (one scope, burst = the whole rate).
 */

/** What `limit set` takes, named as its flags. */
export interface LimitSetInput {
  sub?: string;
  role?: string;
  global?: boolean;
  tool?: string;
  rate?: string;
  burst?: string;
}

/** What `limit update` takes. */
export interface LimitUpdateInput {
  rate?: string;
  burst?: string;
}

/** A rule as shown. */
export interface LimitView {
  id: string;
  scope: LimitRule["scope"];
  subject?: string;
  role?: string;
  tool: string;
  rate: string;
  burst: number;
  createdAt: string;
}

/** Turns `limit set` input into a rule, or says what is wrong (naming the field). */
export function limitRuleFromInput(input: LimitSetInput, now = Date.now()): LimitRule {
  const scopes = [input.sub !== undefined, input.role !== undefined, input.global === true].filter(Boolean).length;
  if (scopes !== 1) {
    throw fieldError(
      "sub",
      "say whom the limit is for: exactly one of --sub SUBJECT, --role ROLE or --global",
      "e.g. mcpgw limit set --sub alice --rate 100/min",
    );
  }
  if (input.rate === undefined) throw fieldError("rate", "--rate is required", "e.g. --rate 100/min (N/s, N/min, N/h, N/day)");
  const { count, periodMs } = inField("rate", () => parseRate(input.rate!));
  const burst = input.burst === undefined ? count : parseBurst(input.burst);
  if (input.tool !== undefined) inField("tool", () => assertToolPattern(input.tool!));
  return {
    id: `lim_${crypto.randomUUID().replaceAll("-", "").slice(0, 10)}`,
    scope: input.global ? "global" : input.sub !== undefined ? "subject" : "role",
    ...(input.sub !== undefined && { scopeValue: input.sub }),
    ...(input.role !== undefined && { scopeValue: input.role }),
    ...(input.tool !== undefined && { toolPattern: input.tool }),
    count,
    periodMs,
    burst,
    createdAt: now,
  };
}

/** Checks `limit update` input before the store is opened: something to change, each value well-formed. */
export function checkLimitUpdate(id: string, input: LimitUpdateInput): { rate?: { count: number; periodMs: number }; burst?: number } {
  if (input.rate === undefined && input.burst === undefined) {
    throw new UsageError("nothing to change", `give --rate and/or --burst, e.g. mcpgw limit update ${id} --rate 120/min`);
  }
  return {
    ...(input.rate !== undefined && { rate: inField("rate", () => parseRate(input.rate!)) }),
    ...(input.burst !== undefined && { burst: parseBurst(input.burst) }),
  };
}

/**
 * Changes a rule's rate or burst in place. Without a burst, a burst that was the whole rate (the
 * default) follows the new rate; any other stays. Returns the rule before and after.
 */
export async function updateLimit(
  store: { readonly limits: LimitRepository },
  id: string,
  input: LimitUpdateInput,
): Promise<{ before: LimitRule; after: LimitRule }> {
  const { rate, burst } = checkLimitUpdate(id, input);
  const before = await requireLimit(store, id);
  const count = rate?.count ?? before.count;
  const after = await store.limits.update(id, {
    count,
    periodMs: rate?.periodMs ?? before.periodMs,
    burst: burst ?? (before.burst === before.count ? count : before.burst),
  });
  return { before, after };
}

export async function requireLimit(store: { readonly limits: LimitRepository }, id: string): Promise<LimitRule> {
  const rule = (await store.limits.list()).find((candidate) => candidate.id === id);
  if (!rule) throw new NotFoundError(`there is no limit rule "${id}"`, "list the rules with: mcpgw limit list");
  return rule;
}

export function parseBurst(text: string): number {
  const burst = Number(text);
  if (!Number.isSafeInteger(burst) || burst < 1) {
    throw fieldError("burst", `--burst "${text}" is not a whole number ≥ 1`, "the burst is how many calls may come at once (default: the whole rate)");
  }
  return burst;
}

export function limitView(rule: LimitRule): LimitView {
  return {
    id: rule.id,
    scope: rule.scope,
    ...(rule.scopeValue !== undefined && (rule.scope === "subject" ? { subject: rule.scopeValue } : { role: rule.scopeValue })),
    tool: rule.toolPattern ?? "*",
    rate: formatRate(rule),
    burst: rule.burst,
    createdAt: new Date(rule.createdAt).toISOString(),
  };
}

/** One bucket of a rule as `limit list --usage` and GET /v1/admin/limits/usage show it. */
export interface LimitUsageView {
  id: string;
  scope: LimitRule["scope"];
  subject?: string;
  role?: string;
  tool: string | null;
  rate: string;
  burst: number;
  /** The counted subject, or "*" (a global rule; a role rule no subject has spent from). */
  key: string;
  used: number | null;
  remaining: number | null;
  resetsAt: string | null;
}

/** Every rule with what its buckets hold now, from the shared counters (so every gateway's calls count). */
export async function readLimitUsage(store: { readonly limits: LimitRepository }, now = Date.now()): Promise<{ rule: LimitRule; view: LimitUsageView }[]> {
  const [rules, counters] = await Promise.all([store.limits.list(), store.limits.spentCounters(now)]);
  return limitUsage(rules, counters, now).map(({ rule, key, used, remaining, resetsAt }) => ({
    rule,
    view: {
      id: rule.id,
      scope: rule.scope,
      ...(rule.scopeValue !== undefined && (rule.scope === "subject" ? { subject: rule.scopeValue } : { role: rule.scopeValue })),
      tool: rule.toolPattern ?? null,
      rate: formatRate(rule),
      burst: rule.burst,
      key,
      used,
      remaining,
      resetsAt: resetsAt === null ? null : new Date(resetsAt).toISOString(),
    },
  }));
}
