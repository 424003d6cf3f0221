/**
 * MCP Tasks through the gateway (2025-11-25 basic/utilities/tasks), with the real SDK client and
 * @modelcontextprotocol/server-everything behind a stdio spy: the gateway runs any tool as a
 * task (trigger-long-running-operation has no task support of its own), relays a backend's own
 * task tool (simulate-research-query, taskSupport "required"), and passes a cancel on.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { CallToolResultSchema, McpError } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { issueToken } from "../src/auth/token-issuer.ts";
import { parsePermission } from "../src/policy/permission.ts";
import { REPO_ROOT } from "./helpers/cli.ts";
import { BUN, type TestGateway, connectClient, everythingStdio, refusalOf, startTestGateway } from "./helpers/gateway.ts";
import { tempDir } from "./helpers/temp-dir.ts";

const AUTH = { tokenIssuer: "mcpgw", tokenAudience: "mcpgw", signingAlg: "EdDSA" as const };
const spyDir = tempDir("mcpgw-tasks-");
const spyLog = join(spyDir.path, "stdin.jsonl");

/** What the gateway sent the backend, one JSON-RPC message per line. */
function sentToBackend(): { method?: string; id?: unknown; params?: Record<string, unknown> }[] {
  try {
    return readFileSync(spyLog, "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l));
  } catch {
    return [];
  }
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await Bun.sleep(100);
  }
}

describe("MCP Tasks through the gateway (server-everything over stdio, authentication required)", () => {
  let gw: TestGateway;
  let alice: Client;
  let bob: Client;

  beforeAll(async () => {
    const tokens: Record<string, string> = {};
    gw = await startTestGateway(
      [
        {
          name: "everything",
          command: [BUN, join(REPO_ROOT, "test/fixtures/stdio-spy.ts"), ...everythingStdio()],
          env: { STDIO_SPY_LOG: spyLog },
          timeoutMs: 60_000,
        },
      ],
      { auth: "required" },
      {
        prepare: async (store) => {
          await store.roles.create({ name: "user", rules: [{ effect: "allow", permission: parsePermission("everything/*") }] });
          for (const subject of ["alice", "bob"]) tokens[subject] = (await issueToken(store, AUTH, { subject, roles: ["user"], ttlMs: 3_600_000 })).token;
        },
      },
    );
    alice = await connectClient(gw.mcpUrl("everything"), {}, "alice", { token: tokens.alice! });
    bob = await connectClient(gw.mcpUrl("everything"), {}, "bob", { token: tokens.bob! });
  }, 60_000);

  afterAll(async () => {
    await Promise.all([alice?.close(), bob?.close()]);
    await gw?.stop();
    spyDir.remove();
  });

  test("the gateway declares tasks and offers every tool as a task", async () => {
    expect(alice.getServerCapabilities()?.tasks).toEqual({ list: {}, cancel: {}, requests: { tools: { call: {} } } });
    const { tools } = await alice.listTools();
    const support = Object.fromEntries(tools.map((tool) => [tool.name, tool.execution?.taskSupport]));
    expect(support["trigger-long-running-operation"]).toBe("optional");
    expect(support.echo).toBe("optional");
    expect(support["simulate-research-query"]).toBe("required");
  });

  test("a long tool runs as a task: the id at once, status with progress while it works, then the result", async () => {
    const started = performance.now();
    const stream = alice.experimental.tasks.callToolStream(
      { name: "trigger-long-running-operation", arguments: { duration: 3, steps: 6 } },
      CallToolResultSchema,
      { task: { ttl: 60_000 } },
    );
    const messages: {
      type: string;
      task?: { taskId: string; status: string; statusMessage?: string; pollInterval?: number };
      result?: unknown;
      error?: unknown;
    }[] = [];
    let createdAfter = Number.POSITIVE_INFINITY;
    for await (const message of stream) {
      if (message.type === "taskCreated") createdAfter = performance.now() - started;
      messages.push(message as (typeof messages)[number]);
    }
    expect(createdAfter).toBeLessThan(1_000);
    const created = messages[0]!;
    expect(created).toMatchObject({ type: "taskCreated", task: { status: "working", pollInterval: 500 } });
    const progress = messages.filter((m) => m.type === "taskStatus" && m.task?.status === "working").map((m) => m.task?.statusMessage);
    expect(progress.some((text) => /^\d\/6$/.test(text ?? ""))).toBe(true);
    const last = messages.at(-1)!;
    expect(last.type).toBe("result");
    expect(last.result).toMatchObject({
      content: [{ type: "text", text: "Long running operation completed. Duration: 3 seconds, Steps: 6." }],
      _meta: { "io.modelcontextprotocol/related-task": { taskId: created.task!.taskId } },
    });
    // tasks/get after the end, and the task in tasks/list.
    expect(await alice.experimental.tasks.getTask(created.task!.taskId)).toMatchObject({ taskId: created.task!.taskId, status: "completed", ttl: 60_000 });
    const listed = await alice.experimental.tasks.listTasks();
    expect(listed.tasks.map((t) => t.taskId)).toContain(created.task!.taskId);
  }, 30_000);

  test("tasks/cancel stops the task, and the backend sees notifications/cancelled", async () => {
    const stream = alice.experimental.tasks.callToolStream(
      { name: "trigger-long-running-operation", arguments: { duration: 60, steps: 60 } },
      CallToolResultSchema,
      { task: {} },
    );
    const first = await stream.next();
    const taskId = (first.value as { task: { taskId: string } }).task.taskId;
    // Let the call reach the backend (its tools/call is in the spy's log), then cancel.
    const call = await until("tools/call at the backend", 10_000, async () =>
      sentToBackend().find(
        (m) =>
          m.method === "tools/call" &&
          (m.params as { name?: string })?.name === "trigger-long-running-operation" &&
          (m.params as { arguments?: { duration?: number } })?.arguments?.duration === 60,
      ),
    );
    const cancelled = await alice.experimental.tasks.cancelTask(taskId);
    expect(cancelled.status).toBe("cancelled");
    await until("notifications/cancelled at the backend", 10_000, async () =>
      sentToBackend().find((m) => m.method === "notifications/cancelled" && m.params?.requestId === call.id),
    );
    await stream.return(undefined);
    // The result of a cancelled task is an error, and cancelling it again is -32602.
    const result = await refusalOf(alice.experimental.tasks.getTaskResult(taskId, CallToolResultSchema));
    expect(result.message).toMatch(/cancelled/);
    const again = await refusalOf(alice.experimental.tasks.cancelTask(taskId));
    expect(again.code).toBe(-32602);
  }, 30_000);

  test("a backend's own task tool is run as a task at the backend, and its result relayed", async () => {
    const messages: { type: string; result?: unknown; error?: unknown }[] = [];
    for await (const message of alice.experimental.tasks.callToolStream(
      { name: "simulate-research-query", arguments: { topic: "gateways" } },
      CallToolResultSchema,
      { task: { ttl: 60_000 } },
    )) {
      messages.push(message as (typeof messages)[number]);
    }
    expect(messages.at(-1)).toMatchObject({ type: "result", result: { content: [{ type: "text", text: expect.stringContaining("gateways") }] } });
    // The gateway called the backend with a task and polled it there.
    const sent = sentToBackend();
    expect(sent.some((m) => m.method === "tools/call" && (m.params as { task?: unknown })?.task !== undefined)).toBe(true);
    expect(sent.some((m) => m.method === "tasks/get")).toBe(true);
    expect(sent.some((m) => m.method === "tasks/result")).toBe(true);
  }, 60_000);

  test("tasks are bound to the caller: another subject's task is unknown (-32602), as is a made-up id", async () => {
    const stream = alice.experimental.tasks.callToolStream({ name: "echo", arguments: { message: "mine" } }, CallToolResultSchema, { task: {} });
    const first = await stream.next();
    const taskId = (first.value as { task: { taskId: string } }).task.taskId;
    for await (const _ of stream);
    for (const attempt of [
      bob.experimental.tasks.getTask(taskId),
      bob.experimental.tasks.cancelTask(taskId),
      bob.experimental.tasks.getTaskResult(taskId, CallToolResultSchema),
    ]) {
      const refused = await refusalOf(attempt);
      expect([refused.code, refused.message]).toEqual([-32602, expect.stringContaining("Task not found")]);
    }
    expect((await bob.experimental.tasks.listTasks()).tasks.map((t) => t.taskId)).not.toContain(taskId);
    const unknown = await refusalOf(alice.experimental.tasks.getTask("00000000-0000-0000-0000-000000000000"));
    expect(unknown).toBeInstanceOf(McpError);
    expect(unknown.code).toBe(-32602);
  }, 30_000);
});
