import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { REPO_ROOT } from "./helpers/cli.ts";
import { BUN, type TestGateway, startTestGateway } from "./helpers/gateway.ts";

/**
 * What an idle 2025-era session keeps alive (issue 15, item 10; docs/deployment.md "Footprint").
 * Counted as live objects by class after a full collection, not as bytes: the count does not move
 * with the machine or the heap's growth steps, and a session that keeps one more object than it
 * needs shows up as one per session.
 */
const LAB = join(REPO_ROOT, "test/fixtures/lab-server.ts");
const SESSIONS = 40;
let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway([{ name: "lab", command: [BUN, LAB, "--stdio"] }]);
});

afterAll(async () => {
  await gw?.stop();
});

/** Opens an idle session on /mcp (initialize, notifications/initialized) and keeps only its id. */
async function openIdleSession(url: URL): Promise<string> {
  const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };
  const init = await fetch(url, {
    method: "POST",
    headers,
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "footprint", version: "1" } },
    }),
  });
  const id = init.headers.get("mcp-session-id");
  await init.text();
  expect(init.status).toBe(200);
  expect(id).toBeTruthy();
  const initialized = await fetch(url, {
    method: "POST",
    headers: { ...headers, "mcp-session-id": id!, "mcp-protocol-version": "2025-11-25" },
    body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
  });
  await initialized.text();
  return id!;
}

/** Live objects by class name, from a heap snapshot (JSC's format: 4 numbers per node, the third its class). */
function liveObjects(): Record<string, number> {
  Bun.gc(true);
  const snapshot = Bun.generateHeapSnapshot() as unknown as { nodes: number[]; nodeClassNames: string[] };
  const counts: Record<string, number> = {};
  for (let i = 0; i < snapshot.nodes.length; i += 4) {
    const name = snapshot.nodeClassNames[snapshot.nodes[i + 2]!]!;
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

test(`${SESSIONS} idle sessions hold no SDK objects, nor their initialize request, nor a JSON Schema validator each`, async () => {
  const url = gw.mcpUrl();
  const ids: string[] = [];
  // The first sessions connect the backend and build what is built once.
  for (let i = 0; i < 3; i++) ids.push(await openIdleSession(url));
  const before = liveObjects();
  for (let i = 0; i < SESSIONS; i++) ids.push(await openIdleSession(url));
  const after = liveObjects();
  const added = (type: string) => (after[type] ?? 0) - (before[type] ?? 0);
  const total = (counts: Record<string, number>) => Object.values(counts).reduce((sum, n) => sum + n, 0);

  // The sessions are alive (so the counts below are not zero by accident).
  expect(added("FrontSession")).toBe(SESSIONS);
  // Before: each idle session held its SDK Server and Streamable HTTP transport, built to answer initialize
  // (107 live objects a session in all); they are now built on a session's first request that needs them.
  expect(added("Server")).toBeLessThan(SESSIONS / 4);
  expect(added("WebStandardStreamableHTTPServerTransport")).toBeLessThan(SESSIONS / 4);
  // Live objects a session adds, in all: of two batches, the smaller. Whatever else the process allocates meanwhile
  // (a heartbeat, a re-check) lands in one batch, not both; what a session keeps shows up in each.
  for (let i = 0; i < SESSIONS; i++) ids.push(await openIdleSession(url));
  const second = liveObjects();
  expect(Math.min(total(after) - total(before), total(second) - total(after)) / SESSIONS).toBeLessThan(50);
  // Before: hooks made inside initialize() kept its frame, with the Request and its credentials, per session.
  expect(added("Request")).toBeLessThan(SESSIONS / 4);
  // Before: every SDK Server built an Ajv instance of its own, for elicitInput, which the gateway never calls.
  expect(added("Ajv")).toBeLessThan(SESSIONS / 4);
  expect(ids.length).toBe(2 * SESSIONS + 3);
});

test("a session builds its SDK objects when first needed: an SSE-answered call and a GET stream work after a JSON initialize; DELETE ends either", async () => {
  const url = gw.mcpUrl();
  const accept = "application/json, text/event-stream";
  const headers = (id: string) => ({ "content-type": "application/json", accept, "mcp-session-id": id, "mcp-protocol-version": "2025-11-25" });

  // Never needed: DELETE ends the session without building anything, and it is gone.
  const idle = await openIdleSession(url);
  const ended = await fetch(url, { method: "DELETE", headers: headers(idle) });
  expect(ended.status).toBe(200);
  const gone = await fetch(url, { method: "POST", headers: headers(idle), body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }) });
  expect(gone.status).toBe(404);
  await gone.text();

  // A call with a progress token is answered on an SSE stream, by the session's SDK transport.
  const id = await openIdleSession(url);
  const before = liveObjects().Server ?? 0;
  const call = await fetch(url, {
    method: "POST",
    headers: headers(id),
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 3,
      method: "tools/call",
      params: { name: "lab__echo", arguments: { text: "hi" }, _meta: { progressToken: "p1" } },
    }),
  });
  expect(call.headers.get("content-type")).toContain("text/event-stream");
  const events = await call.text();
  expect(events).toContain('"id":3');
  expect(events).toContain("hi");
  expect(liveObjects().Server ?? 0).toBe(before + 1);

  // Its GET stream opens on the same transport.
  const stream = await fetch(url, { method: "GET", headers: { accept: "text/event-stream", "mcp-session-id": id, "mcp-protocol-version": "2025-11-25" } });
  expect(stream.status).toBe(200);
  expect(stream.headers.get("content-type")).toContain("text/event-stream");
  await stream.body?.cancel();

  // A notification to it still gets 202, and DELETE ends it.
  const rootsChanged = JSON.stringify({ jsonrpc: "2.0", method: "notifications/roots/list_changed" });
  const notified = await fetch(url, { method: "POST", headers: headers(id), body: rootsChanged });
  expect(notified.status).toBe(202);
  const deleted = await fetch(url, { method: "DELETE", headers: headers(id) });
  expect(deleted.status).toBe(200);
  const after = await fetch(url, { method: "POST", headers: headers(id), body: JSON.stringify({ jsonrpc: "2.0", id: 4, method: "tools/list" }) });
  expect(after.status).toBe(404);
  await after.text();
});
