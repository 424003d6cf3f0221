/**
 * What one feature adds to a call's CPU, with no HTTP in between: two gateways in this process (the
 * same composition root as the tests'), both relay only but for the feature, each behind its own stdio
 * echo server, have their fetch handlers called directly with prebuilt 2025-session calls, 16 loops
 * at a time, in short alternating windows (ABBA). The CPU of the whole process per call is read with
 * process.cpuUsage(). The bench's feature rows (`npm run bench`) move by more than their bounds from
 * round to round; this shows a difference of a few µs. Prints the medians and the median of the pairs'
 * differences.
 *
 *   bun bench/feature-cpu-in-process.ts --feature auth|audit [--pairs 60] [--window 100] [--concurrency 16]
 *
 * auth:  authentication required, a token of a role allowing "*" (issue 17's bound: ≤ 8 µs per call);
 * audit: the write-ahead audit log on SQLite (no bound; docs/audit.md, "Issue 17").
 */
import { parseArgs } from "node:util";
import { issueToken } from "../src/auth/token-issuer.ts";
import { parsePermission } from "../src/policy/permission.ts";
import type { Store } from "../src/store/store.ts";
import { BASE_HEADERS, type InProcessGateway, cpuPerCall, startInProcessGateway } from "./in-process-gateway.ts";

const { values } = parseArgs({
  options: {
    feature: { type: "string" },
    pairs: { type: "string", default: "60" },
    window: { type: "string", default: "100" },
    concurrency: { type: "string", default: "16" },
  },
});
const FEATURES = {
  auth: { settings: { audit: "off", auth: "required" }, token: true },
  audit: { settings: { audit: "on" }, token: false },
} as const;
const feature = values.feature as keyof typeof FEATURES | undefined;
if (feature === undefined || !(feature in FEATURES)) {
  console.error("usage: bun bench/feature-cpu-in-process.ts --feature auth|audit [--pairs 60] [--window 100] [--concurrency 16]");
  process.exit(2);
}
const pairs = Number(values.pairs);
const windowMs = Number(values.window);
const concurrency = Number(values.concurrency);

interface Side {
  gateway: InProcessGateway;
  /** Each loop's session headers (and token). */
  sessions: Record<string, string>[];
}

async function startSide(settings: Record<string, string>, withToken: boolean): Promise<Side> {
  let token = "";
  const gateway = await startInProcessGateway(
    settings,
    withToken
      ? {
          prepare: async (store: Store) => {
            await store.roles.create({ name: "all", rules: [{ effect: "allow", permission: parsePermission("*") }] });
            const issuer = { tokenIssuer: "mcpgw", tokenAudience: "mcpgw", signingAlg: "EdDSA" } as const;
            token = (await issueToken(store, issuer, { subject: "bench-feature", roles: ["all"], ttlMs: 3_600_000 })).token;
          },
        }
      : {},
  );
  const headers = token ? { ...BASE_HEADERS, authorization: `Bearer ${token}` } : BASE_HEADERS;
  return { gateway, sessions: await Promise.all(Array.from({ length: concurrency }, () => gateway.openSession(headers))) };
}

/** CPU µs per call of this process over one window of calls to `side`. */
function measure(side: Side, ms: number): Promise<number> {
  return cpuPerCall(ms, side.sessions, async (headers, id) =>
    (await side.gateway.post(headers, `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}`)).text(),
  );
}

const relayOnly = await startSide({ audit: "off" }, false);
const withFeature = await startSide(FEATURES[feature].settings, FEATURES[feature].token);
try {
  for (let warm = 0; warm < 3; warm++) for (const side of [relayOnly, withFeature]) await measure(side, 500);
  const base: number[] = [];
  const featured: number[] = [];
  const differences: number[] = [];
  for (let pair = 0; pair < pairs; pair++) {
    const order = pair % 2 === 0 ? [relayOnly, withFeature] : [withFeature, relayOnly];
    const window = new Map<Side, number>();
    for (const side of order) window.set(side, await measure(side, windowMs));
    base.push(window.get(relayOnly)!);
    featured.push(window.get(withFeature)!);
    differences.push(window.get(withFeature)! - window.get(relayOnly)!);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const signed = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(2)}`;
  console.log(
    `in-process → stdio echo (Bun ${Bun.version}), ${pairs} pairs of ${windowMs} ms windows: relay only ${median(base).toFixed(2)} µs/call, ` +
      `with ${feature} ${median(featured).toFixed(2)}, median of the pairs' differences ${signed(median(differences))} µs`,
  );
} finally {
  await relayOnly.gateway.gateway.stop();
  await withFeature.gateway.gateway.stop();
}
process.exit(0);
