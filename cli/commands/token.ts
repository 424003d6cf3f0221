import { formatDuration } from "../../src/config/duration.ts";
import { UsageError } from "../../src/errors.ts";
import { checkTokenIssue, issueCheckedToken, liveTokensOf, tokenView } from "../../src/operator-calls/token-service.ts";
import { confirmDestructive } from "../confirm.ts";
import { type CommandContext, withStore } from "../context.ts";
import { printJson, printTable } from "../output.ts";

/** A token's lifetime from --ttl (shared with `mcpgw client config`). */
export { parseTtl } from "../../src/operator-calls/token-service.ts";

/** `mcpgw token issue --sub S [--role R]... [--ttl 1h] [--json]`: the JWT alone on stdout, what it is on stderr. */
export async function runTokenIssue(
  context: CommandContext,
  options: { sub: string; role: string[]; ttl?: string; description?: string; json?: boolean },
): Promise<void> {
  const request = checkTokenIssue(options);
  const { ttlMs, roles } = request;
  const issued = await withStore(context, (store) => issueCheckedToken(store, context.settings.auth, request));
  if (options.json) {
    return printJson({
      token: issued.token,
      ...tokenView(issued.record),
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
  if (options.json) return printJson(tokens.map((token) => tokenView(token, now)));
  if (tokens.length === 0) {
    console.log("no tokens yet: issue one with mcpgw token issue --sub SUBJECT [--role ROLE]");
    return;
  }
  printTable(
    ["JTI", "SUBJECT", "ROLES", "ISSUED", "EXPIRES", "STATUS", "DESCRIPTION"],
    tokens.map((token) => {
      const v = tokenView(token, now);
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
    const live = await liveTokensOf(store, subject);
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
