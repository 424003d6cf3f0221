import { assertNever } from "../../src/assert-never.ts";
import type { BackendSpec } from "../../src/backends/backend-spec.ts";
import { redactUrl } from "../../src/backends/secret-refs.ts";
import { applyDocument } from "../../src/declarative/apply-document.ts";
import type { Change } from "../../src/declarative/gateway-state.ts";
import { readDocument } from "../../src/declarative/read-document.ts";
import { quoteCommandWord } from "../../src/declarative/value-formats.ts";
import { UsageError, describeError } from "../../src/errors.ts";
import { type LimitRule, formatRate } from "../../src/limits/limit-rule.ts";
import type { RoleDefinition } from "../../src/policy/policy.ts";
import { type CommandContext, withStore } from "../context.ts";
import { printJson, printTable } from "../output.ts";

/** `mcpgw apply -f FILE [--dry-run] [--json]`: the document is checked whole before the database is opened. */
export async function runApply(context: CommandContext, options: { file: string; dryRun?: boolean; json?: boolean }): Promise<void> {
  const name = options.file === "-" ? "stdin" : options.file;
  const document = readDocument(await readText(options.file), name);
  const dryRun = options.dryRun === true;
  // A real apply may set a database up (a deployment's first step); a dry run only reads.
  const changes = await withStore(context, (store) => applyDocument(store, document, { dryRun }), { setUp: !dryRun });
  if (options.json) return printJson({ dryRun, changes: changes.map(jsonView) });
  if (changes.length === 0) {
    console.log(`no changes: the database already matches ${name}`);
    return;
  }
  printTable(
    ["ACTION", "KIND", "NAME", "DETAILS"],
    changes.map((change) => [change.action, change.kind, change.name, details(change)]),
  );
  const count = changes.length === 1 ? "1 change" : `${changes.length} changes`;
  console.log(
    dryRun
      ? `${count} to apply (dry run: nothing was changed); run without --dry-run to apply`
      : `applied ${count} in one transaction; running gateways pick them up within a second`,
  );
}

async function readText(file: string): Promise<string> {
  try {
    return file === "-" ? await Bun.stdin.text() : await Bun.file(file).text();
  } catch (err) {
    const missing = (err as { code?: string }).code === "ENOENT";
    throw new UsageError(
      `cannot read ${file}: ${missing ? "no such file" : describeError(err)}`,
      "check the path (mcpgw export --out FILE writes a document of the current configuration)",
    );
  }
}

/** For scripts: what changed, and for an update which fields (values are left out: they may be secrets). */
function jsonView(change: Change) {
  return {
    action: change.action,
    kind: change.kind,
    name: change.name,
    ...(change.kind === "binding" && (change.action === "create" ? change.after : change.before)),
    ...(change.action === "update" && { fields: change.fields }),
  };
}

/** One line about the change: what an object is when created or deleted, which fields an update changes. */
function details(change: Change): string {
  if (change.action === "update") return `changes ${change.fields.join(", ")}`;
  switch (change.kind) {
    case "role":
      return describeRole(change.action === "create" ? change.after : change.before);
    case "binding":
      return change.action === "create" ? "grant" : "revoke";
    case "backend":
      return describeBackend(change.action === "create" ? change.after : change.before);
    case "limit":
      return describeLimit(change.action === "create" ? change.after : change.before);
    default:
      return assertNever(change);
  }
}

function describeRole(role: RoleDefinition): string {
  const allow = role.rules.filter((rule) => rule.effect === "allow").length;
  return `${allow} allow, ${role.rules.length - allow} deny${role.description ? ` — ${role.description}` : ""}`;
}

function describeBackend(spec: BackendSpec): string {
  return spec.url !== undefined ? `${spec.transport}: ${redactUrl(spec.url)}` : `stdio: ${(spec.command ?? []).map(quoteCommandWord).join(" ")}`;
}

function describeLimit(rule: LimitRule): string {
  const who = rule.scope === "global" ? "everyone" : `${rule.scope} ${rule.scopeValue}`;
  return `${who}: ${formatRate(rule)}${rule.toolPattern ? ` on ${rule.toolPattern}` : ""}${rule.burst !== rule.count ? ` (burst ${rule.burst})` : ""}`;
}
