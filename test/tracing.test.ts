/**
 * W3C Trace Context through the gateway: the parsing rules on their own, then end to end — a
 * caller's traceparent (or a fresh trace) reaches HTTP backends (Streamable HTTP and SSE) with the
 * caller's trace id and the gateway's own span id, on the JSON fast path and on the SDK's SSE path,
 * never crossing between concurrent calls on a shared connection, and appears in the per-call log
 * line. Each HTTP backend sits behind a relay that records what the gateway sent it.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { boundedTracestate, parseTraceparent, traceFromHeaders } from "../src/tracing/trace-context.ts";
import { capturingLogger } from "./helpers/auth-tokens.ts";
import { REPO_ROOT } from "./helpers/cli.ts";
import { BUN, NODE_MODULES, type TestGateway, startTestGateway } from "./helpers/gateway.ts";
import { type StartedProcess, freePort, startProcess } from "./helpers/process.ts";
import { type RelayedMessage, recordingRelay } from "./helpers/recording-relay.ts";
import { serveFixtureOverHttp } from "./fixtures/fixture-runner.ts";
import { createLabServer } from "./fixtures/lab-server.ts";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT = "00f067aa0ba902b7";
const VALID = `00-${TRACE}-${PARENT}-01`;
const TRACEPARENT_SHAPE = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

describe("traceparent and tracestate parsing (W3C Trace Context)", () => {
  test("a valid version 00 header is read; flags keep only the sampled and random-trace-id bits", () => {
    expect(parseTraceparent(VALID)).toEqual({ traceId: TRACE, parentId: PARENT, flags: "01" });
    expect(parseTraceparent(`00-${TRACE}-${PARENT}-00`)?.flags).toBe("00");
    expect(parseTraceparent(`00-${TRACE}-${PARENT}-03`)?.flags).toBe("03");
    expect(parseTraceparent(`00-${TRACE}-${PARENT}-ff`)?.flags).toBe("03");
  });

  test.each([
    ["absent", null],
    ["empty", ""],
    ["garbage", "not-a-traceparent"],
    ["uppercase hex", `00-${TRACE.toUpperCase()}-${PARENT}-01`],
    ["all-zero trace id", `00-${"0".repeat(32)}-${PARENT}-01`],
    ["all-zero parent id", `00-${TRACE}-${"0".repeat(16)}-01`],
    ["version ff", `ff-${TRACE}-${PARENT}-01`],
    ["version 00 with an extra field", `${VALID}-extra`],
    ["short trace id", `00-${TRACE.slice(1)}-${PARENT}-01`],
    ["long parent id", `00-${TRACE}-${PARENT}0-01`],
    ["one-digit flags", `00-${TRACE}-${PARENT}-1`],
    ["non-hex version", `0x-${TRACE}-${PARENT}-01`],
    ["two headers combined", `${VALID}, ${VALID}`],
    ["surrounding junk", ` x${VALID}`],
  ])("invalid: %s", (_, value) => {
    expect(parseTraceparent(value)).toBeUndefined();
  });

  test("a higher version is read by its first four fields (and sent on as 00)", () => {
    expect(parseTraceparent(`01-${TRACE}-${PARENT}-01-what-the-future-holds`)).toEqual({ traceId: TRACE, parentId: PARENT, flags: "01" });
    expect(parseTraceparent(`01-${TRACE}-${PARENT}-01`)).toEqual({ traceId: TRACE, parentId: PARENT, flags: "01" });
    expect(parseTraceparent(`01-${TRACE}-${PARENT}-01x`)).toBeUndefined();
    const trace = traceFromHeaders(new Headers({ traceparent: `01-${TRACE}-${PARENT}-01-more` }));
    expect(trace.traceparent).toMatch(new RegExp(`^00-${TRACE}-[0-9a-f]{16}-01$`));
  });

  test("tracestate: valid lists pass (empty members dropped), malformed ones are dropped whole, long ones lose whole members", () => {
    expect(boundedTracestate("congo=t61rcWkgMzE")).toBe("congo=t61rcWkgMzE");
    expect(boundedTracestate("rojo=00f067aa0ba902b7 , ,\tcongo=t61rcWkgMzE,tenant@vendor=x y")).toBe(
      "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE,tenant@vendor=x y",
    );
    expect(boundedTracestate("")).toBeUndefined();
    expect(boundedTracestate("Congo=upper-case-key")).toBeUndefined();
    expect(boundedTracestate("congo=a,rojo")).toBeUndefined();
    expect(boundedTracestate("congo=a=b")).toBeUndefined();
    expect(boundedTracestate("congo=a,congo=b")).toBeUndefined();
    expect(boundedTracestate("congo=trailing-space ")).toBe("congo=trailing-space");
    expect(boundedTracestate("congo=bad\u0001char")).toBeUndefined();
    expect(boundedTracestate(Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(","))).toBeUndefined();
    expect(boundedTracestate(Array.from({ length: 32 }, (_, i) => `k${i}=v`).join(","))?.split(",")).toHaveLength(32);
    // Over 512 characters: members over 128 characters go first, then members from the end.
    const long = `big=${"x".repeat(200)}`;
    const medium = Array.from({ length: 6 }, (_, i) => `m${i}=${"y".repeat(97)}`); // 100 characters each
    const shortened = boundedTracestate([medium[0], long, ...medium.slice(1)].join(","))!;
    expect(shortened).toBe(medium.slice(0, 5).join(","));
    expect(shortened.length).toBeLessThanOrEqual(512);
  });

  test("a trace is continued from a valid traceparent with a new span id, and started otherwise", () => {
    const continued = traceFromHeaders(new Headers({ traceparent: VALID, tracestate: "congo=t61rcWkgMzE" }));
    expect(continued).toMatchObject({ traceId: TRACE, parentId: PARENT, flags: "01", tracestate: "congo=t61rcWkgMzE" });
    expect(continued.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(continued.spanId).not.toBe(PARENT);
    expect(continued.traceparent).toBe(`00-${TRACE}-${continued.spanId}-01`);

    // An invalid traceparent restarts the trace, and its tracestate is not even read.
    const restarted = traceFromHeaders(new Headers({ traceparent: `00-${TRACE.toUpperCase()}-${PARENT}-01`, tracestate: "congo=t61rcWkgMzE" }));
    expect(restarted.traceId).not.toBe(TRACE);
    expect(restarted.parentId).toBeUndefined();
    expect(restarted.tracestate).toBeUndefined();
    expect(restarted.traceparent).toMatch(TRACEPARENT_SHAPE);
    expect(restarted.flags).toBe("01");

    const ids = new Set(Array.from({ length: 1_000 }, () => traceFromHeaders(new Headers()).traceId));
    expect(ids.size).toBe(1_000);
  });
});

type Message = RelayedMessage;

/** A hand-rolled Streamable HTTP client session, so each request's headers are the test's to choose. */
class RawSession {
  private nextId = 1;
  id = "";
  private headers: Record<string, string> = { accept: "application/json, text/event-stream", "content-type": "application/json" };

  constructor(private readonly url: URL) {}

  async initialize(extra: Record<string, string> = {}): Promise<void> {
    const params = { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "tracing-test", version: "1" } };
    const { response } = await this.request("initialize", params, extra);
    this.id = response.headers.get("mcp-session-id")!;
    this.headers = { ...this.headers, "mcp-session-id": this.id, "mcp-protocol-version": "2025-11-25" };
    const initialized = await fetch(this.url, {
      method: "POST",
      headers: this.headers,
      body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
    });
    expect(initialized.status).toBe(202);
  }

  /** One request; the answer may come as JSON (the fast path) or as an SSE stream (the SDK path). */
  async request(method: string, params: Record<string, unknown>, extra: Record<string, string> = {}): Promise<{ response: Response; message: Message }> {
    const id = this.nextId++;
    const response = await fetch(this.url, {
      method: "POST",
      headers: { ...this.headers, ...extra },
      body: JSON.stringify({ jsonrpc: "2.0", id, method, params }),
    });
    expect(response.status).toBe(200);
    const type = response.headers.get("content-type") ?? "";
    if (type.startsWith("application/json")) return { response, message: (await response.json()) as Message };
    const text = await response.text();
    const message = text
      .split("\n")
      .filter((line) => line.startsWith("data:") && line.slice(5).trim() !== "") // a resumable stream starts with an empty priming event
      .map((line) => JSON.parse(line.slice(5)) as Message)
      .find((m) => m.id === id);
    if (!message) throw new Error(`no response to request ${id} in the event stream:\n${text}`);
    return { response, message };
  }

  callTool(name: string, args: Record<string, unknown>, headers: Record<string, string> = {}, progressToken?: string) {
    return this.request("tools/call", { name, arguments: args, ...(progressToken !== undefined && { _meta: { progressToken } }) }, headers);
  }
}

describe("traceparent through the gateway to HTTP backends", () => {
  let gw: TestGateway;
  let lab: ReturnType<typeof Bun.serve>;
  let everything: StartedProcess;
  let labRelay: ReturnType<typeof recordingRelay>;
  let sseRelay: ReturnType<typeof recordingRelay>;
  let session: RawSession;
  const { logger, records } = capturingLogger("info");
  const INITIALIZE_TRACE = "11111111111111111111111111111111";

  /** What the lab backend was sent for the tools/call carrying `tag`. */
  const labCall = (tag: string) => labRelay.seen.find((s) => s.message?.method === "tools/call" && JSON.stringify(s.message.params).includes(tag));
  /** The per-call log line of a request of the main session (it never carries arguments: found by session and request id). */
  const logLine = (tag: string) => lineOf(tagRequests.get(tag));
  const lineOf = (requestId: unknown) => records.find((r) => r.msg === "call" && r.session === session.id && r.request === String(requestId));
  const tagRequests = new Map<string, string>();

  async function echo(tag: string, headers: Record<string, string> = {}, progressToken?: string) {
    const result = await session.callTool("lab__echo", { text: tag }, headers, progressToken);
    expect(result.message.error, JSON.stringify(result.message.error)).toBeUndefined();
    expect(JSON.stringify(result.message.result)).toContain(tag);
    tagRequests.set(tag, String(result.message.id));
    return result;
  }

  beforeAll(async () => {
    lab = serveFixtureOverHttp(0, createLabServer);
    labRelay = recordingRelay(`http://127.0.0.1:${lab.port}`);
    const port = await freePort();
    everything = await startProcess(["node", join(NODE_MODULES, "@modelcontextprotocol/server-everything/dist/index.js"), "sse"], /running on port/, {
      PORT: String(port),
    });
    sseRelay = recordingRelay(`http://127.0.0.1:${port}`);
    gw = await startTestGateway(
      [
        { name: "lab", url: `${labRelay.origin}/mcp` },
        { name: "everything", url: `${sseRelay.origin}/sse`, transport: "sse" },
        { name: "local", command: [BUN, join(REPO_ROOT, "test/fixtures/lab-server.ts"), "--stdio"], env: { LAB_NAME: "local" } },
      ],
      {},
      { logger },
    );
    session = new RawSession(gw.mcpUrl());
    // The aggregated initialize connects every backend, inside this request's trace.
    await session.initialize({ traceparent: `00-${INITIALIZE_TRACE}-${PARENT}-01` });
  }, 60_000);

  afterAll(async () => {
    await gw?.stop();
    labRelay?.stop();
    sseRelay?.stop();
    lab?.stop(true);
    everything?.kill();
  });

  test("the caller's trace id reaches the backend under the gateway's own span id; flags and tracestate are kept", async () => {
    const { response } = await echo("tag-continued", { traceparent: VALID, tracestate: "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7" });
    const sent = labCall("tag-continued")!;
    const [, traceId, spanId, flags] = TRACEPARENT_SHAPE.exec(sent.traceparent ?? "") ?? [];
    expect(traceId).toBe(TRACE);
    expect(spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(spanId).not.toBe(PARENT);
    expect(spanId).not.toBe("0".repeat(16));
    expect(flags).toBe("01");
    expect(sent.tracestate).toBe("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
    // The caller learns the gateway's span too.
    expect(response.headers.get("traceresponse")).toBe(sent.traceparent);
    // The per-call log line carries the trace, the gateway's span and the caller's span.
    expect(logLine("tag-continued")).toMatchObject({ status: "ok", backend: "lab", trace_id: TRACE, span_id: spanId, parent_span_id: PARENT });

    await echo("tag-unsampled", { traceparent: `00-${TRACE}-${PARENT}-00` });
    expect(labCall("tag-unsampled")!.traceparent).toMatch(new RegExp(`^00-${TRACE}-[0-9a-f]{16}-00$`));
  });

  test("a malformed traceparent starts a fresh, valid trace (and its tracestate is not passed on)", async () => {
    for (const [tag, bad] of [
      ["tag-upper", `00-${TRACE.toUpperCase()}-${PARENT}-01`],
      ["tag-zero", `00-${"0".repeat(32)}-${PARENT}-01`],
      ["tag-garbage", "hello"],
      ["tag-ff", `ff-${TRACE}-${PARENT}-01`],
    ] as const) {
      await echo(tag, { traceparent: bad, tracestate: "congo=t61rcWkgMzE" });
      const sent = labCall(tag)!;
      const [, traceId, spanId, flags] = TRACEPARENT_SHAPE.exec(sent.traceparent ?? "") ?? [];
      expect(traceId, tag).toMatch(/^[0-9a-f]{32}$/);
      expect(traceId, tag).not.toBe(TRACE);
      expect(traceId, tag).not.toBe("0".repeat(32));
      expect(flags, tag).toBe("01");
      expect(sent.tracestate, tag).toBeNull();
      expect(logLine(tag), tag).toMatchObject({ trace_id: traceId, span_id: spanId });
      expect(logLine(tag)!.parent_span_id, tag).toBeUndefined();
    }
  });

  test("without a traceparent the gateway starts a trace per request (sampled)", async () => {
    await echo("tag-none-1");
    await echo("tag-none-2");
    const first = TRACEPARENT_SHAPE.exec(labCall("tag-none-1")!.traceparent ?? "");
    const second = TRACEPARENT_SHAPE.exec(labCall("tag-none-2")!.traceparent ?? "");
    expect(first?.[3]).toBe("01");
    expect(second?.[3]).toBe("01");
    expect(first?.[1]).not.toBe(second?.[1]);
    expect(logLine("tag-none-1")).toMatchObject({ trace_id: first?.[1], span_id: first?.[2] });
  });

  test("the context survives the SDK's own path (a call with a progress token is answered on an SSE stream)", async () => {
    const { response } = await echo("tag-sdk-path", { traceparent: VALID }, "progress-1");
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    expect(labCall("tag-sdk-path")!.traceparent).toMatch(new RegExp(`^00-${TRACE}-[0-9a-f]{16}-01$`));
    expect(logLine("tag-sdk-path")).toMatchObject({ trace_id: TRACE, parent_span_id: PARENT });
  });

  test("concurrent calls from several sessions on one shared backend connection each carry their own trace", async () => {
    const others = [session, new RawSession(gw.mcpUrl()), new RawSession(gw.mcpUrl())];
    await others[1]!.initialize();
    await others[2]!.initialize();
    const calls = Array.from({ length: 60 }, (_, i) => {
      const traceId = crypto.randomUUID().replaceAll("-", "");
      return { tag: `tag-concurrent-${i}`, traceId, via: others[i % others.length]!, sdkPath: i % 4 === 0 };
    });
    await Promise.all(
      calls.map(async (call) => {
        const result = await call.via.callTool(
          "lab__echo",
          { text: call.tag },
          { traceparent: `00-${call.traceId}-${PARENT}-01` },
          call.sdkPath ? `p-${call.tag}` : undefined,
        );
        expect(result.message.error).toBeUndefined();
      }),
    );
    for (const call of calls) expect(labCall(call.tag)?.traceparent, call.tag).toMatch(new RegExp(`^00-${call.traceId}-[0-9a-f]{16}-01$`));
    // One shared backend session served them all (the relay saw one initialize).
    expect(labRelay.seen.filter((s) => s.message?.method === "initialize")).toHaveLength(1);
  });

  test("the backend connection's own traffic (initialize, its GET stream) carries no caller's trace", () => {
    const own = labRelay.seen.filter((s) => s.method === "GET" || (s.message?.method !== undefined && s.message.method !== "tools/call"));
    expect(own.map((s) => s.message?.method ?? s.method)).toEqual(expect.arrayContaining(["initialize", "notifications/initialized"]));
    for (const request of own) expect(request.traceparent, request.message?.method ?? request.method).toBeNull();
    for (const request of [...labRelay.seen, ...sseRelay.seen]) expect(request.traceparent ?? "").not.toContain(INITIALIZE_TRACE);
  });

  test("an SSE backend gets the trace on the POST that carries the call", async () => {
    const tag = "tag-sse-backend";
    const result = await session.callTool("everything__echo", { message: tag }, { traceparent: VALID });
    expect(JSON.stringify(result.message.result)).toContain(tag);
    const sent = sseRelay.seen.find((s) => s.message?.method === "tools/call" && JSON.stringify(s.message.params).includes(tag));
    expect(sent?.path).toBe("/message");
    expect(sent?.traceparent).toMatch(new RegExp(`^00-${TRACE}-[0-9a-f]{16}-01$`));
    // The event stream the SSE transport opened while connecting belongs to no call.
    expect(sseRelay.seen.filter((s) => s.method === "GET").map((s) => s.traceparent)).toEqual([null]);
  });

  test("a stdio backend gets nothing (no place for it), but the call's log line has its trace", async () => {
    const result = await session.callTool("local__echo", { text: "tag-stdio" }, { traceparent: VALID });
    expect(JSON.stringify(result.message.result)).toContain("local: tag-stdio");
    const line = lineOf(result.message.id);
    expect(line).toMatchObject({ trace_id: TRACE, parent_span_id: PARENT, span_id: expect.stringMatching(/^[0-9a-f]{16}$/) });
  });

  test("refusals are logged with their trace, and /v1/jobs requests run in one too", async () => {
    const refused = await session.callTool("no-backend-prefix", {}, { traceparent: VALID });
    expect(refused.message.error?.code).toBe(-32602);
    expect(lineOf(refused.message.id)).toMatchObject({ status: "invalid", trace_id: TRACE, parent_span_id: PARENT });

    const jobs = await fetch(new URL("/v1/jobs", gw.base), { headers: { traceparent: VALID } });
    await jobs.body?.cancel();
    expect(jobs.headers.get("traceresponse")).toMatch(new RegExp(`^00-${TRACE}-[0-9a-f]{16}-01$`));
  });

  test("a job's run continues its submitter's trace (stored with the job), never the trace of a request that polls it", async () => {
    const submitted = await fetch(new URL("/v1/jobs", gw.base), {
      method: "POST",
      headers: { "content-type": "application/json", traceparent: VALID, tracestate: "congo=t61rcWkgMzE" },
      body: JSON.stringify({ backend: "lab", tool: "echo", arguments: { text: "tag-job" } }),
    });
    expect(submitted.status).toBe(202);
    const submitSpan = TRACEPARENT_SHAPE.exec(submitted.headers.get("traceresponse") ?? "")?.[2];
    const { id } = (await submitted.json()) as { id: string };
    let status = "";
    for (let i = 0; i < 100 && status !== "completed"; i++) {
      // Polled with other traces: the worker the submit woke must not pick them up.
      const job = await fetch(new URL(`/v1/jobs/${id}`, gw.base), { headers: { traceparent: `00-${"2".repeat(32)}-${PARENT}-01` } });
      status = ((await job.json()) as { status: string }).status;
      if (status !== "completed") await Bun.sleep(20);
    }
    expect(status).toBe("completed");
    // The backend sees the submitter's trace id, under the run's own span (a child of the submit's span).
    const sent = labCall("tag-job")!;
    const [, traceId, runSpan, flags] = TRACEPARENT_SHAPE.exec(sent.traceparent ?? "") ?? [];
    expect([traceId, flags, sent.tracestate]).toEqual([TRACE, "01", "congo=t61rcWkgMzE"]);
    expect(runSpan).not.toBe(submitSpan);
    // The run's log line carries the same trace, with the submit's span as its parent.
    const run = records.find((r) => r.msg === "call" && r.method === "jobs/run" && r.request === id);
    expect(run).toMatchObject({ trace_id: TRACE, span_id: runSpan, parent_span_id: submitSpan });
  });
});
