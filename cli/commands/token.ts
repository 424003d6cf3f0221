import { issueToken } from "../../src/auth/token-issuer.ts";
import type { TokenRecord } from "../../src/auth/token-record.ts";
import { formatDuration, parseDuration } from "../../src/config/duration.ts";
import { UsageError } from "../../src/errors.ts";
import { assertRoleName, assertSubject } from "../../src/policy/role-repository.ts";
import { assertRolesExist } from "../../src/policy/role-references.ts";
import { confirmDestructive } from "../confirm.ts";
import { type CommandContext, withStore } from "../context.ts";
import { printJson, printTable } from "../output.ts";
import { MAX_ISSUED_TOKEN_LIFETIME_MS } from "../../src/config/auth-settings.ts";

const DEFAULT_TTL_MS = 3_600_000;
const MAX_TTL_MS = MAX_ISSUED_TOKEN_LIFETIME_MS;

/** A token as listed: claims and state, never the token. */
interface TokenView {
  jti: string;
  subject: string;
  roles: string[];
  description?: string;
  issuedAt: string;
  expiresAt: string;
  revokedAt?: string;
  status: "active" | "expired" | "revoked";
}

/** `mcpgw token issue --sub S [--role R]... [--ttl 1h] [--json]`: the JWT alone on stdout, what it is on stderr. */
export async function runTokenIssue(
  context: CommandContext,
  options: { sub: string; role: string[]; ttl?: string; description?: string; json?: boolean },
): Promise<void> {
  assertSubject(options.sub);
  // The gateway refuses such a subject in a token (src/auth/claims.ts): refuse to mint it.
  if (/[\u0000-\u001f\u007f]/.test(options.sub))
    throw new UsageError(`--sub contains control characters`, "give the subject as printable text, e.g. --sub alice@example.com");
  for (const role of options.role) assertRoleName(role);
  const ttlMs = parseTtl(options.ttl);
  const roles = [...new Set(options.role)];
  const issued = await withStore(context, async (store) => {
    await assertRolesExist(store, roles);
    return issueToken(store, context.settings.auth, {
      subject: options.sub,
      roles,
      ttlMs,
      ...(options.description !== undefined && { description: options.description }),
    });
  });
  if (options.json) {
    return printJson({
      token: issued.token,
      ...view(issued.record),
      kid: issued.kid,
      issuer: context.settings.auth.tokenIssuer,
      audience: context.settings.auth.tokenAudience,
    });
  }
  console.log(issued.token);
  process.stderr.write(
    `issued token ${issued.record.jti} for "${issued.record.subject}"${roles.length > 0 ? ` with roles ${roles.join(", ")}` : " (no roles)"}, ` +
      `valid ${formatDuration(ttlMs)} until ${new Date(issued.record.expiresAt).toISOString()}\n` +
      `send it as "Authorization: Bearer <token>"; revoke it with: mcpgw token revoke ${issued.record.jti}\n`,
  );
}

/** `mcpgw token list [--json]`: newest first. */
export async function runTokenList(context: CommandContext, options: { json?: boolean }): Promise<void> {
  const tokens = await withStore(context, (store) => store.tokens.list());
  const now = Date.now();
  if (options.json) return printJson(tokens.map((token) => view(token, now)));
  if (tokens.length === 0) {
    console.log("no tokens yet: issue one with mcpgw token issue --sub SUBJECT [--role ROLE]");
    return;
  }
  printTable(
    ["JTI", "SUBJECT", "ROLES", "ISSUED", "EXPIRES", "STATUS", "DESCRIPTION"],
    tokens.map((token) => {
      const v = view(token, now);
      return [v.jti, v.subject, v.roles.join(",") || "-", v.issuedAt, v.expiresAt, v.status, v.description ?? ""];
    }),
  );
}

/** `mcpgw token revoke JTI`, or `mcpgw token revoke --all-for SUBJECT [--yes]` (asks on a terminal). */
export async function runTokenRevoke(context: CommandContext, jti: string | undefined, options: { allFor?: string; yes?: boolean } = {}): Promise<void> {
  if ((jti === undefined) === (options.allFor === undefined)) {
    throw new UsageError(
      "say which tokens: a JTI, or --all-for SUBJECT (not both)",
      "e.g. mcpgw token revoke 9f1c2d3e-…, or mcpgw token revoke --all-for alice (token list shows both)",
    );
  }
  if (jti !== undefined) {
    const outcome = await withStore(context, (store) => store.tokens.revoke(jti, Date.now()));
    console.log(outcome === "revoked" ? `revoked token ${jti} (running gateways refuse it within a second)` : `token ${jti} was already revoked`);
    return;
  }
  const subject = options.allFor!;
  const revoked = await withStore(context, async (store) => {
    const now = Date.now();
    const live = (await store.tokens.list()).filter((token) => token.subject === subject && token.revokedAt === undefined && token.expiresAt > now);
    if (live.length === 0) return [];
    await confirmDestructive({
      action: `revoke ${live.length} live token${live.length === 1 ? "" : "s"} of "${subject}"`,
      consequences: live.map(
        (token) =>
          `revoke ${token.jti}${token.description ? ` (${token.description})` : ""}, roles ${token.roles.join(", ") || "none"}, valid until ${new Date(token.expiresAt).toISOString()}`,
      ),
      yes: options.yes,
      withYes: `mcpgw token revoke --all-for ${subject} --yes`,
    });
    return store.tokens.revokeAllFor(subject, Date.now());
  });
  if (revoked.length === 0) {
    console.log(`"${subject}" has no live tokens: nothing to revoke (mcpgw token list shows every token)`);
    return;
  }
  console.log(
    `revoked ${revoked.length} token${revoked.length === 1 ? "" : "s"} of "${subject}" (running gateways refuse them within a second): ${revoked.join(", ")}`,
  );
  process.stderr.write(`grants of roles to "${subject}" stay (mcpgw role list shows them); new tokens can still be issued\n`);
}

export function parseTtl(text: string | undefined, fallbackMs = DEFAULT_TTL_MS): number {
  if (text === undefined) return fallbackMs;
  const ms = parseDuration(text, "--ttl");
  if (ms < 1_000 || ms > MAX_TTL_MS) {
    throw new UsageError(`--ttl "${text}" is out of range`, `use 1s to ${formatDuration(MAX_TTL_MS)}; prefer short-lived tokens (e.g. 1h) and issue new ones`);
  }
  return ms;
}

function view(token: TokenRecord, now = Date.now()): TokenView {
  return {
    jti: token.jti,
    subject: token.subject,
    roles: token.roles,
    ...(token.description !== undefined && { description: token.description }),
    issuedAt: new Date(token.issuedAt).toISOString(),
    expiresAt: new Date(token.expiresAt).toISOString(),
    ...(token.revokedAt !== undefined && { revokedAt: new Date(token.revokedAt).toISOString() }),
    status: token.revokedAt !== undefined ? "revoked" : token.expiresAt <= now ? "expired" : "active",
  };
}
