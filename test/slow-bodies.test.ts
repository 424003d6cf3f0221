import { join } from "node:path";
import type { Socket } from "bun";
import { afterAll, beforeAll, expect, test } from "vitest";
import { REPO_ROOT } from "./helpers/cli.ts";
import { BUN, type TestGateway, connectClient, startTestGateway } from "./helpers/gateway.ts";
import { watchEventLoop } from "./helpers/event-loop-watch.ts";
import { startSlowClients } from "./helpers/slow-clients.ts";

/**
 * Slow clients (issue 15, item 2): a body dripped slower than MCPGW_BODY_TIMEOUT gets 408 and its
 * connection closed, and many such connections at once leave other callers' calls fast.
 */
const BODY_TIMEOUT_MS = 1_000;
let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway([{ name: "lab", command: [BUN, join(REPO_ROOT, "test/fixtures/lab-server.ts"), "--stdio"], env: { LAB_NAME: "lab" } }], {
    bodyTimeout: "1s",
  });
}, 60_000);
afterAll(async () => gw?.stop());

interface Drip {
  received(): string;
  closed: Promise<number>;
  stop(): void;
}

/** Opens a raw connection, sends a POST's headers announcing `length` bytes, then one byte every `everyMs`. */
async function drip(length: number, everyMs: number): Promise<Drip> {
  const url = gw.mcpUrl("lab");
  let text = "";
  const opened = performance.now();
  const { promise: closed, resolve } = Promise.withResolvers<number>();
  const socket: Socket = await Bun.connect({
    hostname: url.hostname,
    port: Number(url.port),
    socket: {
      data: (_s, data) => void (text += new TextDecoder().decode(data)),
      close: () => resolve(performance.now() - opened),
      error: () => resolve(performance.now() - opened),
    },
  });
  socket.write(
    `POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: ${length}\r\n\r\n`,
  );
  const timer = setInterval(() => socket.write("{"), everyMs);
  void closed.then(() => clearInterval(timer));
  return { received: () => text, closed, stop: () => (clearInterval(timer), socket.end()) };
}

test("a body slower than the read timeout gets 408 and its connection closed", async () => {
  const slow = await drip(1_000, 200);
  const closedAfter = await slow.closed;
  expect(slow.received()).toMatch(/^HTTP\/1\.1 408/);
  expect(slow.received()).toContain("MCPGW_BODY_TIMEOUT");
  expect(closedAfter).toBeLessThan(BODY_TIMEOUT_MS + 1_500);
});

test("200 slow connections at once: each gets 408 and is closed, normal calls go on meanwhile, the event loop is never held", async () => {
  // The p99 comparison (beside them, under 2× its value without them) is a timing: it is in the bench,
  // `bun bench/slow-bodies.ts`, where rounds and medians can be afforded. Here, what must hold on any machine.
  const client = await connectClient(gw.mcpUrl("lab"));
  try {
    await client.callTool({ name: "echo", arguments: { text: "warm" } });
    const watch = watchEventLoop();
    const drips = await startSlowClients(gw.mcpUrl("lab"), 200);
    let served = 0;
    for (let i = 0; i < 100; i++) {
      expect(await client.callTool({ name: "echo", arguments: { text: `x${i}` } })).toMatchObject({ content: [{ text: `lab: x${i}` }] });
      served += 1;
    }
    const ended = await drips.ended();
    const stall = watch.stop();
    expect(served).toBe(100);
    expect(ended.openMs).toHaveLength(200);
    expect(Math.max(...ended.openMs)).toBeLessThan(BODY_TIMEOUT_MS + 3_000);
    expect(ended.all408).toBe(true);
    expect(stall.maxBusyMs, "the most CPU the event loop ran without a break").toBeLessThan(100);
  } finally {
    await client.close();
  }
}, 30_000);
