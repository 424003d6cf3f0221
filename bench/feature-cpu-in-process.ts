/**
 * What one feature adds to a call's CPU, with no HTTP in between: two gateways in this process (the
 * same composition root as the tests'), both relay only but for the feature, each behind its own stdio
 * echo server, have their fetch handlers called directly with prebuilt 2025-session calls, 16 loops
 * at a time, in short alternating windows (ABBA). The CPU of the whole process per call is read with
 * process.cpuUsage(). The bench's feature rows (`npm run bench`) move by more than their bounds from
 * round to round; this shows a difference of a few µs. Prints the medians and the median of the pairs'
 * differences (with --json, as one JSON object: FeatureCost). `npm run bench` runs it for each feature in a
 * process of its own (bench/feature-costs.ts).
 *
 *   bun bench/feature-cpu-in-process.ts --feature auth|limit|audit [--pairs 60] [--window 100] [--concurrency 16] [--json]
 *
 * auth:  authentication required, a token of a role allowing "*" (issue 17's bound: ≤ 8 µs per call);
 * limit: a global rate limit that never refuses, as the bench's row has it (bound: ≤ 5 µs per call);
 * audit: the write-ahead audit log on SQLite (no bound; docs/audit.md, "Issue 17").
 */
import { parseArgs } from "node:util";
import { issueToken } from "../src/auth/token-issuer.ts";
import { parsePermission } from "../src/policy/permission.ts";
import type { Store } from "../src/store/store.ts";
import { limitRuleFromInput } from "../src/operator-calls/limit-service.ts";
import { BASE_HEADERS, type InProcessGateway, cpuPerCall, startInProcessGateway } from "./in-process-gateway.ts";
import { median } from "./report.ts";

const { values } = parseArgs({
  options: {
    feature: { type: "string" },
    pairs: { type: "string", default: "60" },
    window: { type: "string", default: "100" },
    concurrency: { type: "string", default: "16" },
    json: { type: "boolean", default: false },
  },
});
/** Each feature as a gateway has it on: its settings, and what the database must hold first. */
const FEATURES: Record<string, { settings: Record<string, string>; prepare?: "token" | "limit" }> = {
  auth: { settings: { audit: "off", auth: "required" }, prepare: "token" },
  limit: { settings: { audit: "off" }, prepare: "limit" },
  audit: { settings: { audit: "on" } },
};
const feature = values.feature;
const featureSetup = feature === undefined ? undefined : FEATURES[feature];
if (feature === undefined || featureSetup === undefined) {
  console.error(
    `usage: bun bench/feature-cpu-in-process.ts --feature ${Object.keys(FEATURES).join("|")} [--pairs 60] [--window 100] [--concurrency 16] [--json]`,
  );
  process.exit(2);
}

/** What --json prints. */
export interface FeatureCost {
  feature: string;
  pairs: number;
  /** Medians over the pairs, CPU µs per call of the process. */
  relayOnlyUs: number;
  withFeatureUs: number;
  /** The median of the pairs' differences: what the feature adds. */
  addedUs: number;
}
const pairs = Number(values.pairs);
const windowMs = Number(values.window);
const concurrency = Number(values.concurrency);

interface Side {
  gateway: InProcessGateway;
  /** Each loop's session headers (and token). */
  sessions: Record<string, string>[];
}

async function startSide(settings: Record<string, string>, prepare?: "token" | "limit"): Promise<Side> {
  let token = "";
  const gateway = await startInProcessGateway(settings, {
    prepare: async (store: Store) => {
      if (prepare === "limit") await store.limits.set(limitRuleFromInput({ global: true, rate: "100000000/s" }));
      if (prepare !== "token") return;
      await store.roles.create({ name: "all", rules: [{ effect: "allow", permission: parsePermission("*") }] });
      const issuer = { tokenIssuer: "mcpgw", tokenAudience: "mcpgw", signingAlg: "EdDSA" } as const;
      token = (await issueToken(store, issuer, { subject: "bench-feature", roles: ["all"], ttlMs: 3_600_000 })).token;
    },
  });
  const headers = token ? { ...BASE_HEADERS, authorization: `Bearer ${token}` } : BASE_HEADERS;
  return { gateway, sessions: await Promise.all(Array.from({ length: concurrency }, () => gateway.openSession(headers))) };
}

/** CPU µs per call of this process over one window of calls to `side`. */
function measure(side: Side, ms: number): Promise<number> {
  return cpuPerCall(ms, side.sessions, async (headers, id) =>
    (await side.gateway.post(headers, `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}`)).text(),
  );
}

const relayOnly = await startSide({ audit: "off" });
const withFeature = await startSide(featureSetup.settings, featureSetup.prepare);
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
  const cost: FeatureCost = { feature, pairs, relayOnlyUs: median(base), withFeatureUs: median(featured), addedUs: median(differences) };
  if (values.json) console.log(JSON.stringify(cost));
  else
    console.log(
      `in-process → stdio echo (Bun ${Bun.version}), ${pairs} pairs of ${windowMs} ms windows: relay only ${cost.relayOnlyUs.toFixed(2)} µs/call, ` +
        `with ${feature} ${cost.withFeatureUs.toFixed(2)}, median of the pairs' differences ${cost.addedUs >= 0 ? "+" : ""}${cost.addedUs.toFixed(2)} µs`,
    );
} finally {
  await relayOnly.gateway.gateway.stop();
  await withFeature.gateway.gateway.stop();
}
process.exit(0);
