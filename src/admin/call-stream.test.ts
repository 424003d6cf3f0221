import { describe, expect, test } from "vitest";
import type { AuditContext, AuditOutcome } from "../audit/auditor.ts";
import { CallFeed, MAX_EVENT_TEXT } from "../observability/call-feed.ts";
import { CallStreams } from "./call-stream.ts";

const decoder = new TextDecoder();

function call(subject: string, status: AuditOutcome["status"] = "ok", backend = "work"): [AuditContext, AuditOutcome] {
  return [{ subject, roles: ["dev"], method: "tools/call", backend, target: "echo", clientName: "c" }, { status }];
}

/** Reads one chunk of the stream as text (what one pull gave). */
async function readChunk(reader: { read(): Promise<{ value?: Uint8Array; done: boolean }> }): Promise<string | undefined> {
  const { value, done } = await reader.read();
  return done ? undefined : decoder.decode(value);
}

/** The `event: call` data of a chunk, parsed. */
function callsIn(chunk: string | undefined): Record<string, unknown>[] {
  return (chunk ?? "")
    .split("\n\n")
    .filter((frame) => frame.startsWith("event: call\n"))
    .map((frame) => JSON.parse(frame.slice(frame.indexOf("data: ") + 6)));
}

describe("the live stream of calls", () => {
  test("sends each published call as an event: call with the CallEvent fields, after a first comment", async () => {
    const feed = new CallFeed();
    const streams = new CallStreams(feed);
    const reader = streams.openStream({})!.getReader();
    expect(await readChunk(reader)).toBe(": connected\n\n");
    const [context, outcome] = call("alice", "denied");
    feed.publish(context, { ...outcome, errorCode: -32003, errorMessage: "denied by policy", rule: "default deny" }, undefined, Date.UTC(2026, 0, 1));
    expect(callsIn(await readChunk(reader))).toEqual([
      {
        ts: "2026-01-01T00:00:00.000Z",
        subject: "alice",
        roles: ["dev"],
        client: "c",
        backend: "work",
        method: "tools/call",
        target: "echo",
        status: "denied",
        latencyMs: null,
        errorCode: -32003,
        errorMessage: "denied by policy",
        rule: "default deny",
      },
    ]);
    await reader.cancel();
  });

  test("filters by subject, backend and status, each exactly", async () => {
    const feed = new CallFeed();
    const streams = new CallStreams(feed);
    const reader = streams.openStream({ subject: "alice", backend: "work", status: "ok" })!.getReader();
    await readChunk(reader);
    feed.publish(...call("bob"), 1);
    feed.publish(...call("alice", "error"), 1);
    feed.publish(...call("alice", "ok", "other"), 1);
    feed.publish(...call("alicia"), 1);
    feed.publish(...call("alice"), 2.5);
    const events = callsIn(await readChunk(reader));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ subject: "alice", backend: "work", status: "ok", latencyMs: 2.5 });
    await reader.cancel();
  });

  test("a client that does not read holds at most bufferSize events; the next read says how many were dropped", async () => {
    const feed = new CallFeed();
    const streams = new CallStreams(feed, { bufferSize: 3 });
    const reader = streams.openStream({})!.getReader();
    await readChunk(reader);
    for (let i = 0; i < 1_000; i++) feed.publish(...call(`s${i}`), 1);
    expect(streams.buffered()).toEqual([3]);
    const chunk = await readChunk(reader);
    expect(chunk).toMatch(/^event: dropped\ndata: \{"count":997\}\n\n/);
    expect(callsIn(chunk).map((event) => event.subject)).toEqual(["s997", "s998", "s999"]);
    expect(streams.buffered()).toEqual([0]);
    await reader.cancel();
  });

  test("long texts are clipped, and the unread events of a stream are bounded in size too", async () => {
    const feed = new CallFeed();
    const streams = new CallStreams(feed, { bufferBytes: 10_000 });
    const reader = streams.openStream({})!.getReader();
    await readChunk(reader);
    const [context, outcome] = call("alice", "error");
    for (let i = 0; i < 100; i++)
      feed.publish({ ...context, target: `file:///${"x".repeat(1_000_000)}` }, { ...outcome, errorMessage: "e".repeat(1_000_000) }, 1);
    expect(streams.buffered()[0]).toBeLessThan(10);
    const chunk = (await readChunk(reader))!;
    expect(chunk.length).toBeLessThan(12_000);
    expect(chunk).toMatch(/^event: dropped\ndata: \{"count":9\d\}/);
    const [event] = callsIn(chunk);
    expect(event!.errorMessage).toBe(`${"e".repeat(MAX_EVENT_TEXT)}…`);
    expect((event!.target as string).length).toBe(MAX_EVENT_TEXT + 1);
    await reader.cancel();
  });

  test("a quiet stream sends a keepalive comment", async () => {
    const streams = new CallStreams(new CallFeed(), { keepaliveMs: 20 });
    const reader = streams.openStream({})!.getReader();
    await readChunk(reader);
    expect(await readChunk(reader)).toBe(": keepalive\n\n");
    await reader.cancel();
  });

  test("cancelling the body or aborting the request drops the subscription; closeAll ends every stream", async () => {
    const feed = new CallFeed();
    const streams = new CallStreams(feed);
    const cancelled = streams.openStream({})!.getReader();
    const aborted = new AbortController();
    const abortedReader = streams.openStream({}, aborted.signal)!.getReader();
    const closed = streams.openStream({})!.getReader();
    expect([streams.count, feed.listenerCount]).toEqual([3, 3]);

    await cancelled.cancel();
    expect([streams.count, feed.listenerCount]).toEqual([2, 2]);
    aborted.abort();
    expect([streams.count, feed.listenerCount]).toEqual([1, 1]);
    await readChunk(abortedReader);
    expect(await readChunk(abortedReader)).toBeUndefined();

    await readChunk(closed);
    const pending = readChunk(closed);
    streams.closeAll();
    expect(await pending).toBeUndefined();
    expect([streams.count, feed.listenerCount]).toEqual([0, 0]);
  });

  test("at most maxStreams are open at once; a released one makes room", async () => {
    const feed = new CallFeed();
    const streams = new CallStreams(feed, { maxStreams: 2 });
    const first = streams.openStream({})!;
    expect(streams.openStream({})).toBeDefined();
    expect(streams.openStream({})).toBeUndefined();
    await first.cancel();
    expect(streams.openStream({})).toBeDefined();
    streams.closeAll();
  });

  test("a listener that throws is reported and does not keep the others from their event", () => {
    const errors: unknown[] = [];
    const feed = new CallFeed((err) => errors.push(err));
    const seen: string[] = [];
    feed.subscribe(() => {
      throw new Error("broken listener");
    });
    feed.subscribe((context) => seen.push(context.subject ?? ""));
    feed.publish(...call("alice"), 1);
    expect(seen).toEqual(["alice"]);
    expect(String(errors[0])).toContain("broken listener");
  });
});
