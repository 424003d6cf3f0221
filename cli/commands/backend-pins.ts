import { probeBackend } from "../../src/backends/backend-probe.ts";
import { describeDefinition } from "../../src/pinning/definition-hash.ts";
import { PIN_AUDIT } from "../../src/pinning/pin-events.ts";
import { type PinRecord, PIN_KINDS } from "../../src/pinning/pin-record.ts";
import type { BackendPinState } from "../../src/operator-calls/backend-pin-state.ts";
import { formatReview, needsReview, reviewOf } from "../../src/pinning/pin-review.ts";
import { NotFoundError } from "../../src/errors.ts";
import type { Store } from "../../src/store/store.ts";
import { type CommandContext, withStore } from "../context.ts";
import { auditOperatorEvents, operatorName } from "../operator-audit.ts";
import { printJson } from "../output.ts";
import { VERSION } from "../version.ts";

export type { PinFlags } from "../../src/operator-calls/backend-service.ts";

/** One line on a backend's pinning: its modes and how many pins are in each state. */
export function describePins(pins: BackendPinState): string {
  const states =
    Object.entries(pins.counts)
      .map(([status, n]) => `${n} ${status}`)
      .join(", ") || (pins.pinMode === "explicit" ? "nothing pinned yet (mcpgw backend pin)" : "not listed yet");
  const flagged = pins.flagged > 0 ? `; ${pins.flagged} with suspicious text` : "";
  return `${pins.pinMode}, drift ${pins.driftMode}, suspicious ${pins.suspicious}: ${states}${flagged}`;
}

/** `mcpgw backend pin NAME`: lists what the backend serves now and pins exactly that (explicit pinning), audited. */
export async function runBackendPin(context: CommandContext, name: string, options: { by?: string; json?: boolean }): Promise<void> {
  const spec = await withStore(context, async (store) => {
    const found = await store.backends.get(name);
    if (!found) throw new NotFoundError(`there is no backend "${name}"`, "list the backends with: mcpgw backend list");
    return found;
  });
  // The store is closed while the backend is listed: a slow backend must not hold a database connection.
  const probe = await probeBackend(spec, { env: process.env, logger: context.adminLogger(), clientVersion: VERSION, listDefinitions: true });
  const by = operatorName(options.by);
  const pinned = await withStore(context, async (store) => {
    const summary: Record<string, { names: string[]; findings: Record<string, unknown> }> = {};
    for (const kind of PIN_KINDS) {
      const items = probe.definitions?.[kind];
      if (!items) continue;
      const names = items.map((item) => String(item.name));
      const definitions = items.map((item) => describeDefinition(kind, item, names));
      await store.pins.pin(name, kind, definitions, by, Date.now());
      summary[kind] = { names, findings: Object.fromEntries(definitions.filter((d) => d.findings.length > 0).map((d) => [d.name, d.findings])) };
    }
    await auditOperatorEvents(
      context,
      store,
      Object.entries(summary).map(([kind, s]) => ({
        backend: name,
        target: kind,
        method: PIN_AUDIT.pin,
        arguments: s,
        by,
        outcome: { status: "ok", decision: "approved", errorMessage: `${s.names.length} ${kind} definition(s) pinned by ${by}` },
      })),
    );
    return summary;
  });
  if (options.json) return printJson({ backend: name, pinnedBy: by, pinned });
  for (const [kind, s] of Object.entries(pinned)) {
    console.log(
      `pinned ${s.names.length} ${kind}${s.names.length === 1 ? "" : "s"} of backend "${name}"${s.names.length > 0 ? `: ${s.names.join(", ")}` : ""}`,
    );
    for (const [item, findings] of Object.entries(s.findings))
      for (const f of findings as { kind: string; where: string; detail: string }[]) console.log(`  ! ${item}: ${f.kind} in ${f.where}: ${f.detail}`);
  }
  console.log("running gateways apply the pins within a second");
}

async function reviewable(store: Store, name: string, tool: string | undefined): Promise<PinRecord[]> {
  const records = (await store.pins.list(name)).filter((record) => tool === undefined || record.name === tool);
  if (tool !== undefined && records.length === 0)
    throw new NotFoundError(`backend "${name}" has no pinned or seen definition named "${tool}"`, `see them with: mcpgw backend show ${name}`);
  return records.filter(needsReview);
}

/** `mcpgw backend diff NAME [--tool T]`: what changed against the pins, description as a word diff, the rest by path. */
export async function runBackendDiff(context: CommandContext, name: string, options: { tool?: string; json?: boolean }): Promise<void> {
  const records = await withStore(context, async (store) => {
    await store.pins.policy(name);
    return reviewable(store, name, options.tool);
  });
  const reviews = records.map(reviewOf);
  if (options.json) return printJson(reviews);
  if (reviews.length === 0) {
    console.log(`backend "${name}": ${options.tool ? `"${options.tool}" matches its pin` : "every definition matches its pin"}; nothing to approve`);
    return;
  }
  for (const review of reviews) console.log(formatReview(review).join("\n"));
  console.log(`\napprove with: mcpgw backend approve ${name}${options.tool ? ` --tool ${options.tool}` : ""}`);
}

/** `mcpgw backend approve NAME [--tool T]`: accepts what the backend lists now as the pin; each approval audited with its diff and who approved. */
export async function runBackendApprove(context: CommandContext, name: string, options: { tool?: string; by?: string; json?: boolean }): Promise<void> {
  const by = operatorName(options.by);
  const approved = await withStore(context, async (store) => {
    await store.pins.policy(name);
    await reviewable(store, name, options.tool);
    const before = await store.pins.approve(name, by, Date.now(), options.tool);
    const reviews = before.map(reviewOf);
    await auditOperatorEvents(
      context,
      store,
      reviews.map((review) => ({
        backend: name,
        target: review.name,
        method: PIN_AUDIT.approve,
        by,
        arguments: review,
        outcome: { status: "ok", decision: "approved", errorMessage: `${review.kind} "${review.name}" (${review.status}) approved by ${by}` },
      })),
    );
    return reviews;
  });
  if (options.json) return printJson({ backend: name, approvedBy: by, approved });
  if (approved.length === 0) {
    console.log(`backend "${name}": nothing to approve${options.tool ? ` for "${options.tool}"` : ""}`);
    return;
  }
  for (const review of approved) console.log(`approved ${review.kind} ${review.name} (${review.unapprovedFindings ? "suspicious text" : review.status})`);
  console.log("running gateways serve the approved definitions within a second");
}
