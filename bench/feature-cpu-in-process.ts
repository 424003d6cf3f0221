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
import { type TestGateway, startTestGateway } from "../test/helpers/gateway.ts";
import { stdioEchoCommand } from "./peers.ts";

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

type Handler = (request: Request, server: unknown) => Response | Promise<Response>;
/** What the handler may ask of the server: no idle timeout for MCP streams, and the peer's address. */
const SERVER = { timeout() {}, requestIP: () => null };
const BASE_HEADERS = { accept: "application/json, text/event-stream", "content-type": "application/json" };

interface Side {
  gateway: TestGateway;
  handler: Handler;
  url: string;
  /** Each loop's session headers (and token). */
  sessions: Record<string, string>[];
}

/** A gateway in this process with its fetch handler, taken as it hands it to Bun.serve (which still listens). */
async function startSide(settings: Record<string, string>, withToken: boolean): Promise<Side> {
  let handler: Handler | undefined;
  const serve = Bun.serve;
  (Bun as unknown as { serve: (options: { fetch: Handler }) => unknown }).serve = (options) => {
    handler = options.fetch;
    return serve(options as never);
  };
  let token = "";
  const prepare = withToken
    ? {
        prepare: async (store: Store) => {
          await store.roles.create({ name: "all", rules: [{ effect: "allow", permission: parsePermission("*") }] });
          const issuer = { tokenIssuer: "mcpgw", tokenAudience: "mcpgw", signingAlg: "EdDSA" } as const;
          token = (await issueToken(store, issuer, { subject: "bench-feature", roles: ["all"], ttlMs: 3_600_000 })).token;
        },
      }
    : {};
  let gateway: TestGateway;
  try {
    gateway = await startTestGateway([{ name: "echo", command: stdioEchoCommand() }], settings, prepare);
  } finally {
    (Bun as unknown as { serve: typeof serve }).serve = serve;
  }
  if (handler === undefined) throw new Error("the gateway did not call Bun.serve");
  const url = gateway.mcpUrl("echo").toString();
  const headers: Record<string, string> = token ? { ...BASE_HEADERS, authorization: `Bearer ${token}` } : { ...BASE_HEADERS };
  const side: Side = { gateway, handler, url, sessions: [] };
  side.sessions = await Promise.all(Array.from({ length: concurrency }, () => openSession(side, headers)));
  return side;
}

async function post(side: Side, headers: Record<string, string>, body: string): Promise<Response> {
  return side.handler(new Request(side.url, { method: "POST", headers, body }), SERVER);
}

/** A 2025 session: initialize and notifications/initialized, then its headers for every call. */
async function openSession(side: Side, headers: Record<string, string>): Promise<Record<string, string>> {
  const initialize = {
    jsonrpc: "2.0",
    id: 0,
    method: "initialize",
    params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "mcpgw-bench-feature", version: "1.0.0" } },
  };
  const response = await post(side, headers, JSON.stringify(initialize));
  const session = response.headers.get("mcp-session-id");
  await response.text();
  if (session === null) throw new Error(`initialize was answered without a session (HTTP ${response.status})`);
  const sessionHeaders = { ...headers, "mcp-session-id": session, "mcp-protocol-version": "2025-11-25" };
  await (await post(side, sessionHeaders, '{"jsonrpc":"2.0","method":"notifications/initialized"}')).text();
  return sessionHeaders;
}

/** CPU µs per call of this process over one window of calls to `side`. */
async function measure(side: Side, ms: number): Promise<number> {
  let calls = 0;
  let stop = false;
  const timer = setTimeout(() => (stop = true), ms);
  const start = process.cpuUsage();
  await Promise.all(
    side.sessions.map(async (headers, loop) => {
      for (let id = 1; !stop; id++) {
        const answer = await (
          await post(side, headers, `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}`)
        ).text();
        if (calls === 0 && loop === 0 && !answer.includes('"result"')) throw new Error(`call failed: ${answer.slice(0, 300)}`);
        calls++;
      }
    }),
  );
  clearTimeout(timer);
  const cpu = process.cpuUsage(start);
  return (cpu.user + cpu.system) / calls;
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
  console.log(
    `in-process → stdio echo (Bun ${Bun.version}), ${pairs} pairs of ${windowMs} ms windows: relay only ${median(base).toFixed(2)} µs/call, ` +
      `with ${feature} ${median(featured).toFixed(2)}, median of the pairs' differences +${median(differences).toFixed(2)} µs`,
  );
} finally {
  await relayOnly.gateway.stop();
  await withFeature.gateway.stop();
}
process.exit(0);
