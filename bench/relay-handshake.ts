/**
 * The start of an MCP session with a Streamable HTTP backend, as the bench's own relays (reference-relay.ts,
 * checked-relay.ts) open theirs: initialize, notifications/initialized, and the headers every later POST
 * carries. Run once, at start: nothing here is on a relay's per-call path.
 */
const JSON_HEADERS = { "content-type": "application/json" };

export async function openHttpBackendSession(url: string, initializeParams: { protocolVersion: string }): Promise<Record<string, string>> {
  const init = await fetch(url, {
    method: "POST",
    headers: { ...JSON_HEADERS, accept: "application/json, text/event-stream" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 0, method: "initialize", params: initializeParams }),
  });
  const sessionId = init.headers.get("mcp-session-id");
  const version = ((await init.json()) as { result?: { protocolVersion?: string } }).result?.protocolVersion ?? initializeParams.protocolVersion;
  const headers: Record<string, string> = {
    ...JSON_HEADERS,
    accept: "application/json, text/event-stream",
    "mcp-protocol-version": version,
    ...(sessionId !== null && { "mcp-session-id": sessionId }),
  };
  const initialized = await fetch(url, { method: "POST", headers, body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) });
  await initialized.body?.cancel();
  return headers;
}
