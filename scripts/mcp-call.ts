/**
 * A minimal MCP client for trying the gateway by hand, built on the SDK's own Client:
 *
 *   bun scripts/mcp-call.ts URL [--token TOKEN]                 # list the tools the caller may use
 *   bun scripts/mcp-call.ts URL TOOL '{"arg":"value"}' [--token TOKEN]   # call one
 */
import { parseArgs } from "node:util";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const { values, positionals } = parseArgs({ allowPositionals: true, options: { token: { type: "string" } } });
const [url, tool, json] = positionals;
if (!url) {
  console.error("usage: bun scripts/mcp-call.ts URL [TOOL [JSON-ARGUMENTS]] [--token TOKEN]");
  process.exit(2);
}
const headers = values.token ? { Authorization: `Bearer ${values.token}` } : undefined;
const client = new Client({ name: "mcp-call", version: "1.0.0" });
try {
  await client.connect(new StreamableHTTPClientTransport(new URL(url), headers && { requestInit: { headers } }));
  if (tool === undefined) {
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor === undefined ? {} : { cursor });
      for (const t of page.tools) console.log(`${t.name}\t${t.description ?? ""}`);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
  } else {
    const result = await client.callTool({ name: tool, arguments: json ? JSON.parse(json) : {} });
    console.log(JSON.stringify(result, null, 2));
  }
} catch (err) {
  console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  await client.close().catch(() => undefined);
}
