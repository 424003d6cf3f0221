import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { expect } from "vitest";
import type { JobView } from "../../src/jobs/job-api-schemas.ts";
import { type TestGateway, connectClient } from "./gateway.ts";

/**
 * Callers of the header-recording backend's `whoami` tool (test/helpers/header-recording-backend.ts),
 * each with their own bearer token, on every path a call takes: sessions on `/mcp/<backend>` and on
 * `/mcp`, REST jobs, and stateless 2026-07-28 requests. The per-caller credential suites use them to
 * show that each call reaches the backend with its own caller's credential.
 */

/** One session of a caller; `prefix` is what the tool's name takes on that endpoint. */
export interface CallerSession<S extends string> {
  subject: S;
  client: Client;
  prefix: string;
}

/** Per subject, three sessions on `/mcp/<backend>` and two on the aggregated `/mcp`, each with the subject's token. */
export async function openCallerSessions<S extends string>(
  gw: TestGateway,
  backend: string,
  subjects: readonly S[],
  tokens: Record<S, string>,
): Promise<CallerSession<S>[]> {
  const sessions: CallerSession<S>[] = [];
  for (const subject of subjects) {
    const connect = (url: URL, name: string) => connectClient(url, {}, name, { token: tokens[subject] });
    for (let i = 0; i < 3; i++) sessions.push({ subject, client: await connect(gw.mcpUrl(backend), `${subject}-${i}`), prefix: "" });
    for (let i = 0; i < 2; i++) sessions.push({ subject, client: await connect(gw.mcpUrl(), `${subject}-agg-${i}`), prefix: `${backend}__` });
  }
  return sessions;
}

export async function closeCallerSessions(sessions: CallerSession<string>[]): Promise<void> {
  for (const { client } of sessions) await client.close().catch(() => undefined);
}

/** Submits a whoami job (REST) with `token`; its id. */
export async function submitWhoamiJob(gw: TestGateway, token: string, backend: string): Promise<string> {
  const response = await fetch(new URL("/v1/jobs", gw.base), {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ backend, tool: "whoami", arguments: {} }),
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as JobView).id;
}

/** The text a whoami job answered, once it completed. */
export async function whoamiJobResult(gw: TestGateway, token: string, id: string): Promise<string> {
  for (let i = 0; i < 600; i++) {
    const view = (await (await fetch(new URL(`/v1/jobs/${id}`, gw.base), { headers: { authorization: `Bearer ${token}` } })).json()) as JobView;
    if (view.status === "completed") return (view.result as { content: { text: string }[] }).content[0]!.text;
    if (view.status === "failed") throw new Error(`job failed: ${JSON.stringify(view.error)}`);
    await Bun.sleep(50);
  }
  throw new Error(`job ${id} did not complete`);
}

const MODERN_META = {
  "io.modelcontextprotocol/protocolVersion": "2026-07-28",
  "io.modelcontextprotocol/clientCapabilities": {},
  "io.modelcontextprotocol/clientInfo": { name: "raw", version: "1" },
};

/** One stateless 2026-07-28 `tools/call` of `name` at `path` with `token`; the text it answered (an error fails the test). */
export async function statelessWhoami(gw: TestGateway, token: string, path: string, name: string): Promise<string> {
  const response = await fetch(new URL(path, gw.base), {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2026-07-28",
      "mcp-method": "tools/call",
      "mcp-name": name,
    },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name, arguments: {}, _meta: MODERN_META } }),
  });
  const body = (await response.json()) as { result?: { content: { text: string }[] }; error?: unknown };
  expect(body.error).toBeUndefined();
  return body.result!.content[0]!.text;
}
