import { formatDuration } from "../../src/config/duration.ts";
import { parseRate } from "../../src/limits/limit-rule.ts";
import { type LimitSetInput, type LimitView, checkLimitUpdate, limitRuleFromInput } from "../../src/operator-calls/limit-service.ts";
import type { CommandContext } from "../context.ts";
import { operationsOf } from "../operations/operations-of.ts";
import { printJson, printTable } from "../output.ts";

function describeScope(rule: Pick<LimitView, "scope" | "subject" | "role">): string {
  if (rule.scope === "global") return "everyone (one shared budget)";
  return rule.scope === "subject" ? `subject ${rule.subject}` : `each subject with role ${rule.role}`;
}

function describeRule(rule: LimitView): string {
  // The view's rate ("100/min") is formatRate's, which parseRate reads back.
  const { count, periodMs } = parseRate(rule.rate);
  const tool = rule.tool !== "*" ? ` to ${rule.tool}` : "";
  const spacing = formatDuration(Math.round(periodMs / count));
  return `${rule.id}: ${describeScope(rule)} may make ${rule.rate} calls${tool} (burst ${rule.burst}; one call every ${spacing} after it)`;
}

/**
 * `mcpgw limit set …`: the rule for that scope (whom, tool, period). Setting it again replaces it
 * (same id, what was spent stays spent) rather than adding a second rule.
 */
export async function runLimitSet(context: CommandContext, options: LimitSetInput): Promise<void> {
  // Checked here first: a malformed flag is a usage error before the database or the gateway is asked.
  limitRuleFromInput(options);
  const { limit, replaced } = await operationsOf(context).limits.set(options);
  console.log(describeRule(limit));
  if (replaced.length > 0) {
    process.stderr.write(
      `replaced ${replaced.map((old) => `${old.id} (${old.rate}, burst ${old.burst})`).join(" and ")}: one rule per subject/role/global, tool and period\n`,
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
  const after = await operationsOf(context).limits.update(id, options);
  console.log(`${describeRule(after)} (running gateways apply it within a second)`);
}

export async function runLimitList(context: CommandContext, options: { json?: boolean; usage?: boolean }): Promise<void> {
  if (options.usage) return runLimitUsage(context, options);
  const rules = await operationsOf(context).limits.list();
  if (options.json) return printJson(rules);
  if (rules.length === 0) {
    console.log("no limits: every authorised call is admitted (add one with mcpgw limit set --sub S --rate 100/min)");
    return;
  }
  printTable(
    ["ID", "FOR", "TOOL", "RATE", "BURST"],
    rules.map((rule) => [rule.id, describeScope(rule), rule.tool, rule.rate, String(rule.burst)]),
  );
}

/** `limit list --usage`: each rule's buckets as the shared counters hold them now (every gateway's calls). */
async function runLimitUsage(context: CommandContext, options: { json?: boolean }): Promise<void> {
  const usage = await operationsOf(context).limits.usage();
  if (options.json) return printJson(usage);
  if (usage.length === 0) {
    console.log("no limits: every authorised call is admitted (add one with mcpgw limit set --sub S --rate 100/min)");
    return;
  }
  const count = (value: number | null) => (value === null ? "-" : String(value));
  printTable(
    ["ID", "FOR", "TOOL", "RATE", "BURST", "KEY", "USED", "LEFT", "FULL AGAIN"],
    usage.map((view) => [
      view.id,
      describeScope(view),
      view.tool ?? "*",
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
  await operationsOf(context).limits.remove(id);
  console.log(`removed ${id} (running gateways drop it within a second)`);
}
