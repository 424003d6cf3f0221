import { checkRoleUpdate, rulesOf } from "../../src/operator-calls/role-service.ts";
import { confirmDestructive } from "../confirm.ts";
import type { CommandContext } from "../context.ts";
import { operationsOf } from "../operations/operations-of.ts";
import { printJson, printTable } from "../output.ts";

/**
 * Warns (stderr; the write stands) about patterns naming backends that are not registered: a
 * typo there silently allows or denies nothing. `mcpgw doctor` reports them too. Each warning
 * is a dangling pattern as described by describeDangling.
 */
function warnDangling(warnings: string[]): void {
  for (const warning of warnings) process.stderr.write(`warning: ${warning}: it matches nothing until one is (mcpgw backend list shows the names)\n`);
}

/** `mcpgw role create ROLE [--allow P]... [--deny P]... [--description T]`: every pattern is checked before anything is written. */
export async function runRoleCreate(context: CommandContext, name: string, options: { allow: string[]; deny: string[]; description?: string }): Promise<void> {
  rulesOf(options);
  const { warnings } = await operationsOf(context).roles.create(name, options);
  warnDangling(warnings);
  console.log(`created role "${name}" (${options.allow.length} allow, ${options.deny.length} deny)`);
  if (options.allow.length === 0) process.stderr.write("note: a role with no --allow rule grants nothing (policy denies by default)\n");
  process.stderr.write(`grant it with: mcpgw role grant ${name} SUBJECT, or put "${name}" in a token's roles (mcpgw token issue --role ${name})\n`);
}

export async function runRoleGrant(context: CommandContext, role: string, subject: string): Promise<void> {
  await operationsOf(context).roles.grant(role, subject);
  console.log(`granted role "${role}" to "${subject}" (running gateways apply it within a second)`);
}

export async function runRoleRevoke(context: CommandContext, role: string, subject: string): Promise<void> {
  await operationsOf(context).roles.revoke(role, subject);
  console.log(`revoked role "${role}" from "${subject}"`);
}

/**
 * `mcpgw role update ROLE [--allow P]... [--deny P]... [--remove-rule P]... [--description T]`:
 * removes first, then adds; grants stay. Running gateways apply it within a second.
 */
export async function runRoleUpdate(
  context: CommandContext,
  name: string,
  options: { allow: string[]; deny: string[]; removeRule: string[]; description?: string },
): Promise<void> {
  // Checked first, so a malformed pattern is a usage error before the database is opened.
  checkRoleUpdate(name, options);
  const { role: v, warnings } = await operationsOf(context).roles.update(name, options);
  warnDangling(warnings);
  console.log(`updated role "${name}" (running gateways apply it within a second); its rules now:`);
  for (const pattern of v.allow) console.log(`  allow  ${pattern}`);
  for (const pattern of v.deny) console.log(`  deny   ${pattern}`);
  if (v.allow.length === 0) process.stderr.write("note: the role has no --allow rule left: it grants nothing (policy denies by default)\n");
}

/**
 * `mcpgw role delete ROLE [--yes]`: says which grants go with it and how many live tokens carry
 * it (they keep the name, which then grants nothing), asks on a terminal, and deletes.
 */
export async function runRoleDelete(context: CommandContext, name: string, options: { yes?: boolean } = {}): Promise<void> {
  const role = await operationsOf(context).roles.delete(name, async (role, consequences) => {
    const rules = role.allow.length + role.deny.length;
    await confirmDestructive({
      action: `delete role "${name}" and its ${rules} rule${rules === 1 ? "" : "s"}`,
      consequences,
      yes: options.yes,
      withYes: `mcpgw role delete ${name} --yes`,
    });
  });
  const grants = role.subjects.length === 0 ? "no grants" : `its grant${role.subjects.length === 1 ? "" : "s"} to ${role.subjects.join(", ")}`;
  console.log(`deleted role "${name}" with its rules and ${grants}`);
}

export async function runRoleList(context: CommandContext, options: { json?: boolean }): Promise<void> {
  const roles = await operationsOf(context).roles.list();
  if (options.json) return printJson(roles);
  if (roles.length === 0) {
    console.log("no roles yet: create one with mcpgw role create ROLE --allow 'BACKEND/TOOL'");
    return;
  }
  printTable(
    ["ROLE", "ALLOW", "DENY", "SUBJECTS", "DESCRIPTION"],
    roles.map((v) => [v.name, v.allow.join(" ") || "-", v.deny.join(" ") || "-", v.subjects.join(" ") || "-", v.description ?? ""]),
  );
}

export async function runRoleShow(context: CommandContext, name: string, options: { json?: boolean }): Promise<void> {
  const v = await operationsOf(context).roles.show(name);
  if (options.json) return printJson(v);
  console.log(`role ${v.name}${v.description ? ` — ${v.description}` : ""}`);
  for (const pattern of v.allow) console.log(`  allow  ${pattern}`);
  for (const pattern of v.deny) console.log(`  deny   ${pattern}`);
  console.log(`  granted to: ${v.subjects.join(", ") || "nobody (tokens may still carry the role)"}`);
}
