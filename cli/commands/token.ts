import { formatDuration } from "../../src/config/duration.ts";
import { UsageError } from "../../src/errors.ts";
import { checkTokenIssue } from "../../src/operator-calls/token-service.ts";
import { confirmDestructive } from "../confirm.ts";
import type { CommandContext } from "../context.ts";
import { operationsOf } from "../operations/operations-of.ts";
import { printJson, printTable } from "../output.ts";

/** A token's lifetime from --ttl (shared with `mcpgw client config`). */
export { parseTtl } from "../../src/operator-calls/token-service.ts";

/** `mcpgw token issue --sub S [--role R]... [--ttl 1h] [--json]`: the JWT alone on stdout, what it is on stderr. */
export async function runTokenIssue(
  context: CommandContext,
  options: { sub: string; role: string[]; ttl?: string; description?: string; json?: boolean },
): Promise<void> {
  // Checked here first: a malformed flag is a usage error before the database or the gateway is asked.
  const { ttlMs, roles } = checkTokenIssue(options);
  const { json: _json, ...input } = options;
  const issued = await operationsOf(context).tokens.issue(input);
  if (options.json) return printJson(issued);
  console.log(issued.token);
  process.stderr.write(
    `issued token ${issued.jti} for "${issued.subject}"${roles.length > 0 ? ` with roles ${roles.join(", ")}` : " (no roles)"}, ` +
      `valid ${formatDuration(ttlMs)} until ${issued.expiresAt}\n` +
      `send it as "Authorization: Bearer <token>"; revoke it with: mcpgw token revoke ${issued.jti}\n`,
  );
}

/** `mcpgw token list [--json]`: newest first. */
export async function runTokenList(context: CommandContext, options: { json?: boolean }): Promise<void> {
  const tokens = await operationsOf(context).tokens.list();
  if (options.json) return printJson(tokens);
  if (tokens.length === 0) {
    console.log("no tokens yet: issue one with mcpgw token issue --sub SUBJECT [--role ROLE]");
    return;
  }
  printTable(
    ["JTI", "SUBJECT", "ROLES", "ISSUED", "EXPIRES", "STATUS", "DESCRIPTION"],
    tokens.map((v) => [v.jti, v.subject, v.roles.join(",") || "-", v.issuedAt, v.expiresAt, v.status, v.description ?? ""]),
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
    const outcome = await operationsOf(context).tokens.revoke(jti);
    console.log(outcome === "revoked" ? `revoked token ${jti} (running gateways refuse it within a second)` : `token ${jti} was already revoked`);
    return;
  }
  const subject = options.allFor!;
  const revoked = await operationsOf(context).tokens.revokeAllFor(subject, (live) =>
    confirmDestructive({
      action: `revoke ${live.length} live token${live.length === 1 ? "" : "s"} of "${subject}"`,
      consequences: live.map(
        (token) =>
          `revoke ${token.jti}${token.description ? ` (${token.description})` : ""}, roles ${token.roles.join(", ") || "none"}, valid until ${token.expiresAt}`,
      ),
      yes: options.yes,
      withYes: `mcpgw token revoke --all-for ${subject} --yes`,
    }),
  );
  if (revoked.length === 0) {
    console.log(`"${subject}" has no live tokens: nothing to revoke (mcpgw token list shows every token)`);
    return;
  }
  console.log(
    `revoked ${revoked.length} token${revoked.length === 1 ? "" : "s"} of "${subject}" (running gateways refuse them within a second): ${revoked.join(", ")}`,
  );
  process.stderr.write(`grants of roles to "${subject}" stay (mcpgw role list shows them); new tokens can still be issued\n`);
}
