import { formatPermission, parsePermission } from "../../src/policy/permission.ts";
import type { Effect, RoleRule } from "../../src/policy/policy.ts";
import type { StoredRole } from "../../src/policy/role-repository.ts";
import { NotFoundError, UsageError } from "../../src/errors.ts";
import { danglingPatterns, describeDangling } from "../../src/policy/role-references.ts";
import type { Store } from "../../src/store/store.ts";
import { confirmDestructive } from "../confirm.ts";
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

/** The rules of --allow and --deny flags, every pattern checked before anything is written. */
function rulesOf(options: { allow: string[]; deny: string[] }): RoleRule[] {
  return [
    ...options.allow.map((text) => ({ effect: "allow" as Effect, permission: parsePermission(text) })),
    ...options.deny.map((text) => ({ effect: "deny" as Effect, permission: parsePermission(text) })),
  ];
}

/**
 * Warns (stderr; the write stands) about patterns naming backends that are not registered: a
 * typo there silently allows or denies nothing. `mcpgw doctor` reports them too.
 */
async function warnDangling(store: Store, rules: RoleRule[]): Promise<void> {
  const dangling = danglingPatterns(
    rules,
    (await store.backends.list()).map((spec) => spec.name),
  );
  for (const pattern of dangling)
    process.stderr.write(`warning: ${describeDangling(pattern)}: it matches nothing until one is (mcpgw backend list shows the names)\n`);
}

/** `mcpgw role create ROLE [--allow P]... [--deny P]... [--description T]`: every pattern is checked before anything is written. */
export async function runRoleCreate(context: CommandContext, name: string, options: { allow: string[]; deny: string[]; description?: string }): Promise<void> {
  const rules = rulesOf(options);
  await withStore(context, async (store) => {
    await store.roles.create({ name, rules, ...(options.description !== undefined && { description: options.description }) });
    await warnDangling(store, rules);
  });
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

/**
 * `mcpgw role update ROLE [--allow P]... [--deny P]... [--remove-rule P]... [--description T]`:
 * removes first, then adds; grants stay. Running gateways apply it within a second.
 */
export async function runRoleUpdate(
  context: CommandContext,
  name: string,
  options: { allow: string[]; deny: string[]; removeRule: string[]; description?: string },
): Promise<void> {
  const addRules = rulesOf(options);
  // Checked here too, so a malformed pattern is a usage error before the database is opened.
  for (const pattern of options.removeRule) parsePermission(pattern);
  if (addRules.length === 0 && options.removeRule.length === 0 && options.description === undefined) {
    throw new UsageError("nothing to change", `give --allow, --deny, --remove-rule or --description, e.g. mcpgw role update ${name} --allow 'github/get_*'`);
  }
  const role = await withStore(context, async (store) => {
    const updated = await store.roles.update(name, {
      addRules,
      removeRules: options.removeRule,
      ...(options.description !== undefined && { description: options.description }),
    });
    await warnDangling(store, addRules);
    return updated;
  });
  const v = view(role);
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
  const role = await withStore(context, async (store) => {
    const role = await store.roles.get(name);
    if (!role) throw new NotFoundError(`there is no role "${name}"`, "list the roles with: mcpgw role list");
    const now = Date.now();
    const carrying = (await store.tokens.list()).filter((token) => token.revokedAt === undefined && token.expiresAt > now && token.roles.includes(name));
    const consequences = [
      ...(role.subjects.length > 0 ? [`revoke its grant${role.subjects.length === 1 ? "" : "s"} to ${role.subjects.join(", ")}`] : []),
      ...(carrying.length > 0
        ? [
            `leave ${carrying.length} live token${carrying.length === 1 ? "" : "s"} carrying "${name}" with nothing from it (${[...new Set(carrying.map((token) => token.subject))].join(", ")})`,
          ]
        : []),
    ];
    await confirmDestructive({
      action: `delete role "${name}" and its ${role.rules.length} rule${role.rules.length === 1 ? "" : "s"}`,
      consequences,
      yes: options.yes,
      withYes: `mcpgw role delete ${name} --yes`,
    });
    await store.roles.delete(name);
    return role;
  });
  const grants = role.subjects.length === 0 ? "no grants" : `its grant${role.subjects.length === 1 ? "" : "s"} to ${role.subjects.join(", ")}`;
  console.log(`deleted role "${name}" with its rules and ${grants}`);
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
