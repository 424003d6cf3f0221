import { formatDuration } from "../../src/config/duration.ts";
import { NotFoundError, UsageError } from "../../src/errors.ts";
import { type LimitRule, assertToolPattern, formatRate, parseRate } from "../../src/limits/limit-rule.ts";
import { type CommandContext, withStore } from "../context.ts";
import { printJson, printTable } from "../output.ts";

export interface LimitSetOptions {
  sub?: string;
  role?: string;
  global?: boolean;
  tool?: string;
  rate?: string;
  burst?: string;
}

/** Turns `limit set` flags into a rule, or says what is wrong. */
export function limitRuleFromFlags(options: LimitSetOptions, now = Date.now()): LimitRule {
  const scopes = [options.sub !== undefined, options.role !== undefined, options.global === true].filter(Boolean).length;
  if (scopes !== 1)
    throw new UsageError("say whom the limit is for: exactly one of --sub SUBJECT, --role ROLE or --global", "e.g. mcpgw limit set --sub alice --rate 100/min");
  if (options.rate === undefined) throw new UsageError("--rate is required", "e.g. --rate 100/min (N/s, N/min, N/h, N/day)");
  const { count, periodMs } = parseRate(options.rate);
  const burst = options.burst === undefined ? count : parseBurst(options.burst);
  if (options.tool !== undefined) assertToolPattern(options.tool);
  return {
    id: `lim_${crypto.randomUUID().replaceAll("-", "").slice(0, 10)}`,
    scope: options.global ? "global" : options.sub !== undefined ? "subject" : "role",
    ...(options.sub !== undefined && { scopeValue: options.sub }),
    ...(options.role !== undefined && { scopeValue: options.role }),
    ...(options.tool !== undefined && { toolPattern: options.tool }),
    count,
    periodMs,
    burst,
    createdAt: now,
  };
}

function describeScope(rule: LimitRule): string {
  if (rule.scope === "global") return "everyone (one shared budget)";
  return `${rule.scope === "subject" ? "subject" : "each subject with role"} ${rule.scopeValue}`;
}

function view(rule: LimitRule) {
  return {
    id: rule.id,
    scope: rule.scope,
    ...(rule.scopeValue !== undefined && { [rule.scope === "subject" ? "subject" : "role"]: rule.scopeValue }),
    tool: rule.toolPattern ?? "*",
    rate: formatRate(rule),
    burst: rule.burst,
    createdAt: new Date(rule.createdAt).toISOString(),
  };
}

function describeRule(rule: LimitRule): string {
  return `${rule.id}: ${describeScope(rule)} may make ${formatRate(rule)} calls${rule.toolPattern ? ` to ${rule.toolPattern}` : ""} (burst ${rule.burst}; one call every ${formatDuration(Math.round(rule.periodMs / rule.count))} after it)`;
}

/**
 * `mcpgw limit set …`: the rule for that scope (whom, tool, period). Setting it again replaces it
 * (same id, what was spent stays spent) rather than adding a second rule.
 */
export async function runLimitSet(context: CommandContext, options: LimitSetOptions): Promise<void> {
  const { rule, replaced } = await withStore(context, (store) => store.limits.set(limitRuleFromFlags(options)));
  console.log(describeRule(rule));
  if (replaced.length > 0) {
    process.stderr.write(
      `replaced ${replaced.map((old) => `${old.id} (${formatRate(old)}, burst ${old.burst})`).join(" and ")}: one rule per subject/role/global, tool and period\n`,
    );
  }
}

/**
 * `mcpgw limit update ID [--rate N/unit] [--burst N]`: changes a rule's rate or quota in place.
 * Without --burst, a burst that was the whole rate (the default) follows the new rate; any other stays.
 */
export async function runLimitUpdate(context: CommandContext, id: string, options: { rate?: string; burst?: string }): Promise<void> {
  if (options.rate === undefined && options.burst === undefined) {
    throw new UsageError("nothing to change", `give --rate and/or --burst, e.g. mcpgw limit update ${id} --rate 120/min`);
  }
  const rate = options.rate === undefined ? undefined : parseRate(options.rate);
  const burst = options.burst === undefined ? undefined : parseBurst(options.burst);
  const rule = await withStore(context, async (store) => {
    const current = (await store.limits.list()).find((candidate) => candidate.id === id);
    if (!current) throw new NotFoundError(`there is no limit rule "${id}"`, "list the rules with: mcpgw limit list");
    const count = rate?.count ?? current.count;
    return store.limits.update(id, {
      count,
      periodMs: rate?.periodMs ?? current.periodMs,
      burst: burst ?? (current.burst === current.count ? count : current.burst),
    });
  });
  console.log(`${describeRule(rule)} (running gateways apply it within a second)`);
}

function parseBurst(text: string): number {
  const burst = Number(text);
  if (!Number.isSafeInteger(burst) || burst < 1)
    throw new UsageError(`--burst "${text}" is not a whole number ≥ 1`, "the burst is how many calls may come at once (default: the whole rate)");
  return burst;
}

export async function runLimitList(context: CommandContext, options: { json?: boolean }): Promise<void> {
  const rules = await withStore(context, (store) => store.limits.list());
  if (options.json) return printJson(rules.map(view));
  if (rules.length === 0) {
    console.log("no limits: every authorised call is admitted (add one with mcpgw limit set --sub S --rate 100/min)");
    return;
  }
  printTable(
    ["ID", "FOR", "TOOL", "RATE", "BURST"],
    rules.map((rule) => [rule.id, describeScope(rule), rule.toolPattern ?? "*", formatRate(rule), String(rule.burst)]),
  );
}

export async function runLimitRemove(context: CommandContext, id: string): Promise<void> {
  await withStore(context, (store) => store.limits.remove(id));
  console.log(`removed ${id} (running gateways drop it within a second)`);
}
