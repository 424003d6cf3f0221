import type { SigningKeyRecord } from "../../src/auth/signing-key.ts";
import { activeKey } from "../../src/auth/signing-key.ts";
import { publicJwkOf, rotateSigningKey } from "../../src/auth/signing-keys.ts";
import { type CommandContext, withStore } from "../context.ts";
import { printJson, printTable } from "../output.ts";

/** A key as printed: the public half only. */
function view(key: SigningKeyRecord, active: string | undefined) {
  return {
    kid: key.kid,
    alg: key.alg,
    createdAt: new Date(key.createdAt).toISOString(),
    ...(key.retiredAt !== undefined && { retiredAt: new Date(key.retiredAt).toISOString() }),
    status: key.retiredAt !== undefined ? "retired" : key.kid === active ? "active" : "verifying",
    publicJwk: publicJwkOf(key),
  };
}

/** `mcpgw key rotate`: a new active key; the old ones keep verifying until retired. */
export async function runKeyRotate(context: CommandContext, options: { json?: boolean }): Promise<void> {
  const { key, previous } = await withStore(context, async (store) => {
    const previous = activeKey(await store.signingKeys.list());
    return { key: await rotateSigningKey(store, context.settings.auth.signingAlg), previous };
  });
  if (options.json) return printJson(view(key, key.kid));
  console.log(`new active signing key ${key.kid} (${key.alg})`);
  if (previous) {
    process.stderr.write(
      `key ${previous.kid} keeps verifying the tokens it signed; once they have expired or been reissued, retire it with: mcpgw key retire ${previous.kid}\n`,
    );
  }
}

/** `mcpgw key list [--json]`, oldest first. */
export async function runKeyList(context: CommandContext, options: { json?: boolean }): Promise<void> {
  const keys = await withStore(context, (store) => store.signingKeys.list());
  const active = activeKey(keys)?.kid;
  const views = keys.map((key) => view(key, active));
  if (options.json) return printJson(views);
  if (keys.length === 0) {
    console.log("no signing keys yet: the first is created by mcpgw serve, mcpgw token issue or mcpgw key rotate");
    return;
  }
  printTable(
    ["KID", "ALG", "CREATED", "STATUS"],
    views.map((v) => [v.kid, v.alg, v.createdAt, v.retiredAt !== undefined ? `retired ${v.retiredAt}` : v.status]),
  );
}

/** `mcpgw key retire KID`: its tokens are refused from then on. */
export async function runKeyRetire(context: CommandContext, kid: string): Promise<void> {
  const outcome = await withStore(context, (store) => store.signingKeys.retire(kid, Date.now()));
  console.log(
    outcome === "retired"
      ? `retired signing key ${kid}: tokens it signed are refused from now on (running gateways within a second)`
      : `signing key ${kid} was already retired`,
  );
}
