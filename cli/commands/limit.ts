import { formatDuration } from "../../src/config/duration.ts";
import { type LimitRule, formatRate } from "../../src/limits/limit-rule.ts";
import { type LimitSetInput, checkLimitUpdate, limitRuleFromInput, limitView, readLimitUsage, updateLimit } from "../../src/operator-calls/limit-service.ts";
import { type CommandContext, withStore } from "../context.ts";
import { printJson, printTable } from "../output.ts";

function describeScope(rule: LimitRule): string {
  if (rule.scope === "global") return "everyone (one shared budget)";
  return `${rule.scope === "subject" ? "subject" : "each subject with role"} ${rule.scopeValue}`;
}

function describeRule(rule: LimitRule): string {
  return `${rule.id}: ${describeScope(rule)} may make ${formatRate(rule)} calls${rule.toolPattern ? ` to ${rule.toolPattern}` : ""} (burst ${rule.burst}; one call every ${formatDuration(Math.round(rule.periodMs / rule.count))} after it)`;
}

/**
 * `mcpgw limit set …`: the rule for that scope (whom, tool, period). Setting it again replaces it
 * (same id, what was spent stays spent) rather than adding a second rule.
 */
export async function runLimitSet(context: CommandContext, options: LimitSetInput): Promise<void> {
  const { rule, replaced } = await withStore(context, (store) => store.limits.set(limitRuleFromInput(options)));
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
  // Checked before the database is opened.
  checkLimitUpdate(id, options);
  const { after } = await withStore(context, (store) => updateLimit(store, id, options));
  console.log(`${describeRule(after)} (running gateways apply it within a second)`);
}

export async function runLimitList(context: CommandContext, options: { json?: boolean; usage?: boolean }): Promise<void> {
  if (options.usage) return runLimitUsage(context, options);
  const rules = await withStore(context, (store) => store.limits.list());
  if (options.json) return printJson(rules.map(limitView));
  if (rules.length === 0) {
    console.log("no limits: every authorised call is admitted (add one with mcpgw limit set --sub S --rate 100/min)");
    return;
  }
  printTable(
    ["ID", "FOR", "TOOL", "RATE", "BURST"],
    rules.map((rule) => [rule.id, describeScope(rule), rule.toolPattern ?? "*", formatRate(rule), String(rule.burst)]),
  );
}

/** `limit list --usage`: each rule's buckets as the shared counters hold them now (every gateway's calls). */
async function runLimitUsage(context: CommandContext, options: { json?: boolean }): Promise<void> {
  const usage = await withStore(context, (store) => readLimitUsage(store));
  if (options.json) return printJson(usage.map(({ view }) => view));
  if (usage.length === 0) {
    console.log("no limits: every authorised call is admitted (add one with mcpgw limit set --sub S --rate 100/min)");
    return;
  }
  const count = (value: number | null) => (value === null ? "-" : String(value));
  printTable(
    ["ID", "FOR", "TOOL", "RATE", "BURST", "KEY", "USED", "LEFT", "FULL AGAIN"],
    usage.map(({ rule, view }) => [
      rule.id,
      describeScope(rule),
      rule.toolPattern ?? "*",
      view.rate,
      String(view.burst),
      view.key,
      count(view.used),
      count(view.remaining),
      view.resetsAt ?? "now",
    ]),
  );
}

export async function runLimitRemove(context: CommandContext, id: string): Promise<void> {
  await withStore(context, (store) => store.limits.remove(id));
  console.log(`removed ${id} (running gateways drop it within a second)`);
}
