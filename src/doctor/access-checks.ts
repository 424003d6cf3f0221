import type { TokenRecord } from "../auth/token-record.ts";
import { formatDuration } from "../config/duration.ts";
import { allowsEverything, danglingPatterns, describeDangling } from "../policy/role-references.ts";
import type { StoredRole } from "../policy/role-repository.ts";
import type { Store } from "../store/store.ts";
import { type CheckResult, ok, problemFrom, warning } from "./check-result.ts";

/** An admin token expiring sooner than this, with no other admin token of its subject lasting longer, is worth a warning. */
export const ADMIN_EXPIRY_WARNING_MS = 7 * 86_400_000;
/** Lines listed in one check's detail before "and N more". */
const SHOWN = 5;

/**
 * What roles and tokens refer to: patterns naming backends that are not registered, live tokens
 * carrying roles that no longer exist, and admin access about to run out. Warnings only: each
 * still works as written, but is probably not what was meant.
 */
export async function checkAccessReferences(store: Store, now = Date.now()): Promise<CheckResult[]> {
  let roles: StoredRole[];
  let backends: string[];
  let live: TokenRecord[];
  try {
    roles = await store.roles.list();
    backends = (await store.backends.list()).map((spec) => spec.name);
    live = (await store.tokens.list()).filter((token) => token.revokedAt === undefined && token.expiresAt > now);
  } catch (err) {
    return [problemFrom("role patterns", err, "check the database, then run mcpgw doctor again")];
  }
  return [checkPatterns(roles, backends), checkTokenRoles(roles, live), checkAdminExpiry(roles, live, now)];
}

function checkPatterns(roles: StoredRole[], backends: string[]): CheckResult {
  const lines = roles.flatMap((role) =>
    danglingPatterns(role.rules, backends).map((dangling) => ({ role: role.name, text: `role ${role.name}: ${describeDangling(dangling)}` })),
  );
  if (lines.length === 0) return ok("role patterns", `every pattern of ${roles.length} role${roles.length === 1 ? "" : "s"} names a registered backend (or *)`);
  const first = lines[0]!;
  return warning(
    "role patterns",
    `${lines.length} pattern${lines.length === 1 ? "" : "s"} match${lines.length === 1 ? "es" : ""} no backend: ${listed(lines.map((line) => line.text))}`,
    `fix the name or drop the rule: mcpgw role update ${first.role} --remove-rule 'PATTERN' (or add the backend: mcpgw backend add NAME …)`,
  );
}

function checkTokenRoles(roles: StoredRole[], live: TokenRecord[]): CheckResult {
  const known = new Set(roles.map((role) => role.name));
  const orphaned = live.filter((token) => token.roles.some((role) => !known.has(role)));
  if (orphaned.length === 0) return ok("token roles", `every role of ${live.length} live token${live.length === 1 ? "" : "s"} exists`);
  const lines = orphaned.map((token) => `${token.jti} of ${token.subject} (${token.roles.filter((role) => !known.has(role)).join(", ")})`);
  const missing = [...new Set(orphaned.flatMap((token) => token.roles.filter((role) => !known.has(role))))];
  return warning(
    "token roles",
    `${orphaned.length} live token${orphaned.length === 1 ? " carries" : "s carry"} roles that do not exist, which grant nothing: ${listed(lines)}`,
    `create the role again (mcpgw role create ${missing[0]} --allow …), or revoke the tokens (mcpgw token revoke JTI) and issue new ones`,
  );
}

/**
 * Admin tokens (their roles, or roles granted to their subject, allow `*`) that run out within 7
 * days, for subjects with no admin token lasting longer: when they expire, nobody has admin access
 * through the gateway's own tokens.
 */
function checkAdminExpiry(roles: StoredRole[], live: TokenRecord[], now: number): CheckResult {
  const admin = roles.filter(allowsEverything);
  const isAdmin = (token: TokenRecord) => admin.some((role) => token.roles.includes(role.name) || role.subjects.includes(token.subject));
  const adminTokens = live.filter(isAdmin);
  if (adminTokens.length === 0) return ok("admin tokens", admin.length === 0 ? "no role allows *" : "no live admin token");
  const latest = new Map<string, TokenRecord>();
  for (const token of adminTokens) if ((latest.get(token.subject)?.expiresAt ?? 0) < token.expiresAt) latest.set(token.subject, token);
  const expiring = [...latest.values()].filter((token) => token.expiresAt - now < ADMIN_EXPIRY_WARNING_MS);
  if (expiring.length === 0)
    return ok(
      "admin tokens",
      `${adminTokens.length} live admin token${adminTokens.length === 1 ? "" : "s"}, none expiring within ${formatDuration(ADMIN_EXPIRY_WARNING_MS)}`,
    );
  const lines = expiring.map(
    (token) => `${token.jti} of ${token.subject} expires in ${formatDuration(Math.max(0, token.expiresAt - now))} (${new Date(token.expiresAt).toISOString()})`,
  );
  const first = expiring[0]!;
  const role = admin.find((candidate) => first.roles.includes(candidate.name))?.name ?? admin[0]!.name;
  return warning(
    "admin tokens",
    `${expiring.length === 1 ? "an admin token runs" : `${expiring.length} admin tokens run`} out within ${formatDuration(ADMIN_EXPIRY_WARNING_MS)}, with no longer-lived one for ${expiring.length === 1 ? "its subject" : "their subjects"}: ${listed(lines)}`,
    `issue a new one before it expires: mcpgw token issue --sub ${first.subject} --role ${role} --ttl 30d`,
  );
}

function listed(lines: string[]): string {
  const shown = lines.slice(0, SHOWN).join("; ");
  return lines.length > SHOWN ? `${shown}; and ${lines.length - SHOWN} more` : shown;
}
