import { issueToken } from "../../src/auth/token-issuer.ts";
import { formatDuration } from "../../src/config/duration.ts";
import { NotFoundError, UsageError } from "../../src/errors.ts";
import { assertRolesExist } from "../../src/policy/role-references.ts";
import { CLIENTS, type ClientName, clientConfig } from "../../src/setup/client-config.ts";
import { assertRoleName, assertSubject } from "../../src/policy/role-repository.ts";
import { type CommandContext, withStore } from "../context.ts";
import { printJson } from "../output.ts";
import { parseTtl } from "./token.ts";

const DEFAULT_TTL_MS = 30 * 24 * 3_600_000;

export interface ClientConfigOptions {
  client: string;
  sub: string;
  role: string[];
  ttl?: string;
  backend?: string;
  url?: string;
  name?: string;
  json?: boolean;
}

/**
 * `mcpgw client config --client NAME --sub SUBJECT …`: mints a token and prints the block that
 * client's configuration needs (stdout: the block alone; stderr: where it goes, and the token's
 * jti, expiry and how to revoke it).
 */
export async function runClientConfig(context: CommandContext, options: ClientConfigOptions): Promise<void> {
  if (!(CLIENTS as readonly string[]).includes(options.client)) {
    throw new UsageError(`--client "${options.client}" is not a client mcpgw knows`, `use one of: ${CLIENTS.join(", ")}`);
  }
  const client = options.client as ClientName;
  assertSubject(options.sub);
  for (const role of options.role) assertRoleName(role);
  const ttlMs = parseTtl(options.ttl, DEFAULT_TTL_MS);
  const base = options.url === undefined ? gatewayOrigin(context) : checkedUrl(options.url);
  const url = `${base}/mcp${options.backend === undefined ? "" : `/${options.backend}`}`;
  const roles = [...new Set(options.role)];
  const issued = await withStore(context, async (store) => {
    if (options.backend !== undefined && !(await store.backends.get(options.backend))) {
      throw new NotFoundError(
        `no backend named "${options.backend}"`,
        "mcpgw backend list shows the names; leave --backend out for /mcp, every backend the roles allow",
      );
    }
    await assertRolesExist(store, roles);
    return issueToken(store, context.settings.auth, { subject: options.sub, roles, ttlMs, description: `client config: ${client}` });
  });
  const config = clientConfig(client, {
    url,
    token: issued.token,
    name: options.name ?? (options.backend === undefined ? "mcpgw" : `mcpgw-${options.backend}`),
  });
  if (options.json) {
    return printJson({
      ...config,
      url,
      token: { jti: issued.record.jti, subject: issued.record.subject, roles, expiresAt: new Date(issued.record.expiresAt).toISOString() },
    });
  }
  process.stdout.write(config.text.endsWith("\n") ? config.text : `${config.text}\n`);
  process.stderr.write(
    `${config.kind === "json" ? "merge this into" : "use it"}: ${config.where.join("; ")}\n` +
      `it holds token ${issued.record.jti} for "${issued.record.subject}"${roles.length > 0 ? ` with roles ${roles.join(", ")}` : " (no roles)"}, ` +
      `valid ${formatDuration(ttlMs)} until ${new Date(issued.record.expiresAt).toISOString()}; treat the block as a secret.\n` +
      `revoke it with: mcpgw token revoke ${issued.record.jti}; a new block: run this command again\n`,
  );
}

/** Where clients reach the gateway: MCPGW_PUBLIC_URL, else the address serve listens on. */
function gatewayOrigin(context: CommandContext): string {
  const { auth, host, port } = context.settings;
  if (auth.publicUrl !== undefined) return auth.publicUrl;
  const reachable = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  return `http://${reachable}:${port}`;
}

function checkedUrl(text: string): string {
  if (!URL.canParse(text) || !/^https?:$/.test(new URL(text).protocol)) {
    throw new UsageError(`--url "${text}" is not an http(s) URL`, "give the gateway's address as clients reach it, e.g. --url https://mcp.example.com");
  }
  return new URL(text).origin;
}
