/**
 * A backend that speaks only MCP 2026-07-28 (SDK v2, `legacy: "reject"`), for the era tests.
 *
 *   bun test/backend-era-modern-stdio.ts           # stdio (ERA_START_DELAY_MS=N: start after N ms)
 *   import { modernHttpHandler } from it           # Streamable HTTP, in the test's own process
 *
 * Tools: echo (reports the request's envelope and its other _meta keys), count (progress for the
 * request's progressToken), wait (runs until cancelled; records the cancellation), cancellations
 * (the JSON-RPC ids of cancelled waits), ask (input_required: an elicitation).
 */
import { type CallToolResult, type InputRequiredResult, McpServer, createMcpHandler, inputRequired, inputResponse } from "@modelcontextprotocol/server";
import { serveStdio } from "@modelcontextprotocol/server/stdio";
import * as z from "zod/v4";

export const MODERN_SERVER_INFO = { name: "era-modern", version: "2.0.0" };
export const MODERN_INSTRUCTIONS = "A 2026-07-28-only server for mcpgw's era tests.";

/** Ids of `wait` calls whose request was cancelled (a notifications/cancelled, or a closed HTTP stream), process-wide. */
const cancelled: (string | number)[] = [];

function text(value: string): CallToolResult {
  return { content: [{ type: "text", text: value }] };
}

function buildServer(): McpServer {
  const server = new McpServer(MODERN_SERVER_INFO, { capabilities: { tools: {} }, instructions: MODERN_INSTRUCTIONS });
  server.registerTool(
    "echo",
    { description: "echoes text and the request's _meta", inputSchema: z.object({ text: z.string() }) },
    async ({ text: said }, ctx) => ({
      ...text(`echo: ${said}`),
      structuredContent: { envelope: (ctx.mcpReq.envelope ?? {}) as Record<string, unknown>, meta: (ctx.mcpReq._meta ?? {}) as Record<string, unknown> },
    }),
  );
  server.registerTool(
    "count",
    { description: "reports progress n times", inputSchema: z.object({ n: z.number().int().min(1).max(10) }) },
    async ({ n }, ctx) => {
      const progressToken = ctx.mcpReq._meta?.progressToken;
      for (let i = 1; i <= n; i++) {
        if (progressToken !== undefined)
          await ctx.mcpReq.notify({ method: "notifications/progress", params: { progressToken, progress: i, total: n, message: `step ${i}` } });
        await Bun.sleep(10);
      }
      return text(`counted to ${n}`);
    },
  );
  server.registerTool("wait", { description: "waits until cancelled (or ms pass)", inputSchema: z.object({ ms: z.number().int() }) }, async ({ ms }, ctx) => {
    const signal = ctx.mcpReq.signal;
    const id = ctx.mcpReq.id;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      signal.addEventListener("abort", () => (clearTimeout(timer), cancelled.push(id), resolve()), { once: true });
    });
    return text(signal.aborted ? "cancelled" : `waited ${ms}ms`);
  });
  server.registerTool("cancellations", { description: "ids of cancelled waits", inputSchema: z.object({}) }, async () => ({
    ...text(cancelled.join(",")),
    structuredContent: { cancelled: [...cancelled] },
  }));
  server.registerTool(
    "ask",
    { description: "asks for a name (input_required)", inputSchema: z.object({}) },
    async (_args, ctx): Promise<CallToolResult | InputRequiredResult> => {
      const answer = inputResponse(ctx.mcpReq.inputResponses, "who");
      if (answer.kind === "elicit" && answer.action === "accept") return text(`hello ${String((answer.content as { name?: unknown } | undefined)?.name)}`);
      return inputRequired({
        inputRequests: {
          who: inputRequired.elicit({
            message: "Who are you?",
            requestedSchema: { type: "object", properties: { name: { type: "string" } }, required: ["name"] },
          }),
        },
      });
    },
  );
  return server;
}

/** The server over Streamable HTTP: a fetch handler for Bun.serve (2026-07-28 only; initialize gets 400). */
export function modernHttpHandler(): { fetch(request: Request): Promise<Response>; close(): Promise<void> } {
  const handler = createMcpHandler(buildServer, { legacy: "reject" });
  return { fetch: (request) => handler.fetch(request), close: () => handler.close() };
}

if (import.meta.main) {
  // A server slow to start (npx fetching a package, say): stdin waits meanwhile.
  const startDelayMs = Number(process.env.ERA_START_DELAY_MS ?? "0");
  if (startDelayMs > 0) await Bun.sleep(startDelayMs);
  const handle = serveStdio(buildServer, { legacy: "reject", onerror: (err) => console.error(`[era-modern] ${err.message}`) });
  process.on("SIGTERM", () => void handle.close());
}
