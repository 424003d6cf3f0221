import { formatPermission, parsePermission } from "../../src/policy/permission.ts";
import type { Effect, RoleRule } from "../../src/policy/policy.ts";
import type { StoredRole } from "../../src/store/sql-roles.ts";
import { NotFoundError } from "../../src/errors.ts";
import { type CommandContext, withStore } from "../context.ts";
import { printJson, printTable } from "../output.ts";

/** A role as printed: rules in the syntax operators write them. */
function view(role: StoredRole) {
  return {
    name: role.name,
    ...(role.description !== undefined && { description: role.description }),
    allow: role.rules.filter((r) => r.effect === "allow").map((r) => formatPermission(r.permission)),
    deny: role.rules.filter((r) => r.effect === "deny").map((r) => formatPermission(r.permission)),
    subjects: role.subjects,
    createdAt: new Date(role.createdAt).toISOString(),
  };
}

/** `mcpgw role create ROLE [--allow P]... [--deny P]... [--description T]`: every pattern is checked before anything is written. */
export async function runRoleCreate(context: CommandContext, name: string, options: { allow: string[]; deny: string[]; description?: string }): Promise<void> {
  const rules: RoleRule[] = [
    ...options.allow.map((text) => ({ effect: "allow" as Effect, permission: parsePermission(text) })),
    ...options.deny.map((text) => ({ effect: "deny" as Effect, permission: parsePermission(text) })),
  ];
  await withStore(context, (store) => store.roles.create({ name, rules, ...(options.description !== undefined && { description: options.description }) }));
  console.log(`created role "${name}" (${options.allow.length} allow, ${options.deny.length} deny)`);
  if (options.allow.length === 0) process.stderr.write("note: a role with no --allow rule grants nothing (policy denies by default)\n");
  process.stderr.write(`grant it with: mcpgw role grant ${name} SUBJECT, or put "${name}" in a token's roles (mcpgw token issue --role ${name})\n`);
}

export async function runRoleGrant(context: CommandContext, role: string, subject: string): Promise<void> {
  await withStore(context, (store) => store.roles.grant(role, subject));
  console.log(`granted role "${role}" to "${subject}" (running gateways apply it within a second)`);
}

export async function runRoleRevoke(context: CommandContext, role: string, subject: string): Promise<void> {
  await withStore(context, (store) => store.roles.revoke(role, subject));
  console.log(`revoked role "${role}" from "${subject}"`);
}

export async function runRoleDelete(context: CommandContext, role: string): Promise<void> {
  await withStore(context, (store) => store.roles.delete(role));
  console.log(`deleted role "${role}" with its rules and grants`);
}

export async function runRoleList(context: CommandContext, options: { json?: boolean }): Promise<void> {
  const roles = await withStore(context, (store) => store.roles.list());
  if (options.json) return printJson(roles.map(view));
  if (roles.length === 0) {
    console.log("no roles yet: create one with mcpgw role create ROLE --allow 'BACKEND/TOOL'");
    return;
  }
  printTable(
    ["ROLE", "ALLOW", "DENY", "SUBJECTS", "DESCRIPTION"],
    roles.map((role) => {
      const v = view(role);
      return [v.name, v.allow.join(" ") || "-", v.deny.join(" ") || "-", v.subjects.join(" ") || "-", v.description ?? ""];
    }),
  );
}

export async function runRoleShow(context: CommandContext, name: string, options: { json?: boolean }): Promise<void> {
  const role = await withStore(context, (store) => store.roles.get(name));
  if (!role) throw new NotFoundError(`there is no role "${name}"`, "list the roles with: mcpgw role list");
  const v = view(role);
  if (options.json) return printJson(v);
  console.log(`role ${v.name}${v.description ? ` — ${v.description}` : ""}`);
  for (const pattern of v.allow) console.log(`  allow  ${pattern}`);
  for (const pattern of v.deny) console.log(`  deny   ${pattern}`);
  console.log(`  granted to: ${v.subjects.join(", ") || "nobody (tokens may still carry the role)"}`);
}
