import { type EventLoopStall, watchEventLoop } from "./event-loop-watch.ts";
/**
 * Seeded hostile and malformed requests for the MCP endpoints (issue 15, acceptance 2), shared by
 * the fuzz test in `npm test` (5,000 cases) and `bun bench/fuzz.ts` (100,000). The same seed gives
 * the same cases, so a failure can be replayed with MCPGW_FUZZ_SEED.
 */

/** mulberry32: small, fast, and good enough to spread cases. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export interface FuzzCase {
  kind: string;
  path: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
}

const METHODS = [
  "initialize",
  "tools/call",
  "tools/list",
  "resources/read",
  "prompts/get",
  "server/discover",
  "ping",
  "logging/setLevel",
  "tasks/get",
  "completion/complete",
  "resources/subscribe",
  "notifications/cancelled",
  "nope/unknown",
  "",
];
const PATHS = ["/mcp", "/mcp/lab", "/mcp/", "/mcp/unknown-backend", "/mcp/lab/extra", "/mcp/LAB", "/mcp/a__b"];
const VERSIONS = ["2025-11-25", "2026-07-28", "2025-03-26", "1999-01-01", "", "2026-07-28 ", "garbage"];

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

function randomString(random: () => number, max: number): string {
  const length = Math.floor(random() * max);
  let text = "";
  for (let i = 0; i < length; i++) {
    const r = random();
    text +=
      r < 0.8
        ? String.fromCharCode(32 + Math.floor(random() * 95))
        : r < 0.9
          ? String.fromCharCode(Math.floor(random() * 32))
          : String.fromCodePoint(0x80 + Math.floor(random() * 0x2000));
  }
  return text;
}

/** A random JSON value, at most `depth` deep. */
function randomValue(random: () => number, depth: number): unknown {
  const r = random();
  if (depth <= 0 || r < 0.3) return pick(random, [null, true, false, 0, -1, 1.5e308, 42, "x", randomString(random, 20)]);
  if (r < 0.6) return Array.from({ length: Math.floor(random() * 5) }, () => randomValue(random, depth - 1));
  const object: Record<string, unknown> = {};
  for (let i = Math.floor(random() * 5); i > 0; i--)
    object[pick(random, ["name", "arguments", "_meta", "uri", "cursor", "task", "level", "text", randomString(random, 8)])] = randomValue(random, depth - 1);
  return object;
}

function nested(depth: number, open: string, close: string, inner = ""): string {
  return open.repeat(depth) + inner + close.repeat(depth);
}

/** One case: a structured-but-wrong message, raw garbage, a hostile shape, or odd headers. */
export function fuzzCase(random: () => number): FuzzCase {
  const path = random() < 0.8 ? pick(random, PATHS.slice(0, 2)) : pick(random, PATHS);
  const method = random() < 0.97 ? "POST" : pick(random, ["GET", "DELETE", "PUT", "PATCH"]);
  const headers: Record<string, string> = {
    "content-type":
      random() < 0.95 ? "application/json" : pick(random, ["text/plain", "application/json; charset=utf-16", "", "application/x-www-form-urlencoded"]),
    accept: random() < 0.95 ? "application/json, text/event-stream" : pick(random, ["application/json", "*/*", ""]),
  };
  if (random() < 0.5) headers["mcp-protocol-version"] = pick(random, VERSIONS);
  if (random() < 0.2) headers["mcp-session-id"] = random() < 0.5 ? crypto.randomUUID() : randomString(random, 40).replace(/[^\x21-\x7e]/g, "x") || "x";
  if (random() < 0.3) headers["mcp-method"] = pick(random, METHODS) || "x";
  if (random() < 0.2) headers["mcp-name"] = pick(random, ["echo", "=?base64?ZWNobw==?=", "=?base64?!!?=", "crash", "x"]);
  if (random() < 0.05) headers.origin = pick(random, ["null", "http://evil.example.com", "http://localhost:1"]);
  const r = random();
  let kind: string;
  let body: string;
  if (r < 0.35) {
    kind = "message";
    const rpcMethod = pick(random, METHODS);
    const message: Record<string, unknown> = { jsonrpc: random() < 0.9 ? "2.0" : pick(random, ["1.0", 2, null]) };
    if (random() < 0.9) message.id = pick(random, [1, "a", null, 1.5, {}, [], -0, 2 ** 53 + 1]);
    if (random() < 0.95) message.method = random() < 0.9 ? rpcMethod : randomValue(random, 1);
    const params = randomValue(random, 4) as Record<string, unknown>;
    if (random() < 0.5 && typeof params === "object" && params !== null && !Array.isArray(params)) {
      params._meta =
        random() < 0.5
          ? { "io.modelcontextprotocol/protocolVersion": pick(random, VERSIONS), "io.modelcontextprotocol/clientCapabilities": randomValue(random, 2) }
          : randomValue(random, 2);
    }
    if (random() < 0.9) message.params = params;
    if (random() < 0.1) message.result = randomValue(random, 2);
    body = JSON.stringify(message);
  } else if (r < 0.5) {
    kind = "tool-call";
    body = JSON.stringify({
      jsonrpc: "2.0",
      id: Math.floor(random() * 1_000_000),
      method: "tools/call",
      params: {
        name: pick(random, ["echo", "lab__echo", "nope", "", "a__b__c", "lab__nope"]),
        arguments: randomValue(random, 5),
        ...(random() < 0.3 && { _meta: { progressToken: randomValue(random, 1) } }),
      },
    });
  } else if (r < 0.65) {
    kind = "garbage";
    body = random() < 0.5 ? randomString(random, 400) : JSON.stringify(randomValue(random, 3)).slice(0, Math.floor(random() * 200));
  } else if (r < 0.75) {
    kind = "deep";
    const depth = Math.floor(10 ** (1 + random() * 4));
    const inner = random() < 0.5 ? nested(depth, "[", "]") : nested(depth, '{"a":', "}", "1");
    body = `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"text":${inner}}}}`;
  } else if (r < 0.8) {
    kind = "wide";
    const n = Math.floor(random() * 150_000);
    body = `{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"echo","arguments":{"text":[${"0,".repeat(n)}0]}}}`;
  } else if (r < 0.85) {
    kind = "number-or-escape";
    body =
      random() < 0.5
        ? `{"jsonrpc":"2.0","id":${"9".repeat(Math.floor(random() * 5_000))},"method":"ping"}`
        : `{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"echo","arguments":{"text":"${"\\u0041".repeat(Math.floor(random() * 150_000))}"}}}`;
  } else if (r < 0.9) {
    kind = "batch";
    body = JSON.stringify(Array.from({ length: Math.floor(random() * 5) }, () => ({ jsonrpc: "2.0", id: 1, method: pick(random, METHODS) })));
  } else {
    kind = "valid";
    body = JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: {
        name: path === "/mcp" ? "lab__echo" : "echo",
        arguments: { text: randomString(random, 50) },
        _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} },
      },
    });
    headers["mcp-protocol-version"] = "2026-07-28";
    headers["mcp-method"] = "tools/call";
    headers["mcp-name"] = path === "/mcp" ? "lab__echo" : "echo";
  }
  return { kind, path, method, headers, ...(method === "POST" && { body }) };
}

export interface FuzzOutcome {
  status: number;
  ms: number;
  /** No answer within the bound (a hang), or the connection failed. */
  failed?: string;
}

/** Sends one case; an event-stream answer is read for its first event, then closed (a listen stream stays open). */
export async function sendCase(base: string, fuzz: FuzzCase, authorization: string | undefined, timeoutMs: number): Promise<FuzzOutcome> {
  const started = performance.now();
  try {
    const response = await fetch(new URL(fuzz.path, base), {
      method: fuzz.method,
      headers: { ...fuzz.headers, ...(authorization !== undefined && { authorization }) },
      ...(fuzz.body !== undefined && { body: fuzz.body }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if ((response.headers.get("content-type") ?? "").startsWith("text/event-stream")) {
      const reader = response.body!.getReader();
      await reader.read();
      await reader.cancel().catch(() => undefined);
    } else {
      await response.arrayBuffer();
    }
    return { status: response.status, ms: performance.now() - started };
  } catch (err) {
    return { status: 0, ms: performance.now() - started, failed: (err as Error).name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : String(err) };
  }
}

export interface FuzzRun {
  statuses: Map<number, number>;
  kinds: Map<string, number>;
  /** A line for each case answered 5xx or not at all. */
  bad: string[];
  /** The event loop's worst stall over the run (the gateway runs in this process): see watchEventLoop. */
  stall: EventLoopStall;
}

/** Sends `cases` seeded cases, `concurrency` at a time, a valid token on nine in ten; measures the event loop meanwhile. */
export async function runFuzz(options: {
  base: string;
  token: string;
  cases: number;
  seed: number;
  concurrency: number;
  onProgress?: (done: number, run: FuzzRun) => void;
}): Promise<FuzzRun> {
  const random = seededRandom(options.seed);
  const watch = watchEventLoop();
  const run: FuzzRun = { statuses: new Map(), kinds: new Map(), bad: [], stall: watch.stall };
  let next = 0;
  const worker = async () => {
    while (next < options.cases) {
      const index = next++;
      const fuzz = fuzzCase(random);
      run.kinds.set(fuzz.kind, (run.kinds.get(fuzz.kind) ?? 0) + 1);
      const outcome = await sendCase(options.base, fuzz, random() < 0.9 ? `Bearer ${options.token}` : undefined, 10_000);
      run.statuses.set(outcome.status, (run.statuses.get(outcome.status) ?? 0) + 1);
      if (outcome.failed || outcome.status >= 500)
        run.bad.push(
          `case ${index} (${fuzz.kind} ${fuzz.method} ${fuzz.path}): ${outcome.failed ?? `HTTP ${outcome.status}`}; body starts ${JSON.stringify((fuzz.body ?? "").slice(0, 120))}`,
        );
      if (index > 0 && index % 10_000 === 0) options.onProgress?.(index, run);
    }
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency }, worker));
  } finally {
    watch.stop();
  }
  return run;
}
