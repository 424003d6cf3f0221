import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { issueToken } from "../src/auth/token-issuer.ts";
import { parsePermission } from "../src/policy/permission.ts";
import { REPO_ROOT } from "./helpers/cli.ts";
import { BUN, type TestGateway, everythingStdio, startTestGateway } from "./helpers/gateway.ts";

/**
 * MCP Tasks for 2026-07-28 clients: the extension io.modelcontextprotocol/tasks, served by the
 * gateway's job store (issue 14). The gateway decides: a tool its backend runs only as a task
 * becomes one; tasks/get carries the result once it ends; tasks/cancel stops it.
 */
const AUTH = { tokenIssuer: "mcpgw", tokenAudience: "mcpgw", signingAlg: "EdDSA" as const };
const VERSION = "2026-07-28";
const TASKS = "io.modelcontextprotocol/tasks";

type Rpc = { status: number; result?: Record<string, unknown>; error?: { code: number; message: string; data?: unknown } };

describe("the tasks extension for 2026-07-28 clients", () => {
  let gw: TestGateway;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    gw = await startTestGateway(
      [
        { name: "everything", command: everythingStdio() },
        { name: "lab", command: [BUN, join(REPO_ROOT, "test/fixtures/lab-server.ts"), "--stdio"], env: { LAB_NAME: "lab" } },
      ],
      { auth: "required" },
      {
        prepare: async (store) => {
          await store.roles.create({ name: "all", rules: [{ effect: "allow", permission: parsePermission("*") }] });
          for (const subject of ["alice", "bob"]) tokens[subject] = (await issueToken(store, AUTH, { subject, roles: ["all"], ttlMs: 600_000 })).token;
        },
      },
    );
  }, 60_000);
  afterAll(async () => gw?.stop());

  let nextId = 1;
  async function rpc(method: string, params: Record<string, unknown>, options: { who?: string; extension?: boolean; path?: string } = {}): Promise<Rpc> {
    const capabilities = options.extension === false ? {} : { extensions: { [TASKS]: {} } };
    const name = params.name ?? params.taskId;
    const response = await fetch(new URL(options.path ?? "/mcp/everything", gw.base), {
      method: "POST",
      headers: {
        authorization: `Bearer ${tokens[options.who ?? "alice"]}`,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-protocol-version": VERSION,
        "mcp-method": method,
        ...(typeof name === "string" && { "mcp-name": name }),
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: nextId++,
        method,
        params: { ...params, _meta: { "io.modelcontextprotocol/protocolVersion": VERSION, "io.modelcontextprotocol/clientCapabilities": capabilities } },
      }),
    });
    return { ...((await response.json()) as Rpc), status: response.status };
  }

  test("discover offers the extension; a tool the backend runs only as a task becomes one, and tasks/get brings its result", async () => {
    const discover = await rpc("server/discover", {});
    expect(discover.result?.capabilities).toMatchObject({ extensions: { [TASKS]: {} } });
    // The gateway learns which tools require tasks from the backend's list.
    const tools = (await rpc("tools/list", {})).result?.tools as { name: string; execution?: { taskSupport?: string } }[];
    expect(tools.find((t) => t.name === "simulate-research-query")?.execution?.taskSupport).toBe("required");
    const created = await rpc("tools/call", { name: "simulate-research-query", arguments: { topic: "gateways" } });
    expect(created.result).toMatchObject({ resultType: "task", status: "working", ttlMs: expect.any(Number), pollIntervalMs: expect.any(Number) });
    const taskId = created.result!.taskId as string;
    let task: Rpc = created;
    for (let i = 0; i < 100 && task.result?.status !== "completed"; i++) {
      await Bun.sleep(100);
      task = await rpc("tasks/get", { taskId });
    }
    expect(task.result).toMatchObject({
      resultType: "complete",
      taskId,
      status: "completed",
      result: { content: [{ type: "text", text: expect.stringContaining("gateways") }] },
    });
    // Another caller's task is unknown to this one.
    expect((await rpc("tasks/get", { taskId }, { who: "bob" })).error).toMatchObject({ code: -32602 });
  });

  test("an ordinary tool is called directly, even with the extension declared", async () => {
    const direct = await rpc("tools/call", { name: "echo", arguments: { message: "now" } });
    expect(direct.result).toMatchObject({ resultType: "complete", content: [{ text: "Echo: now" }] });
  });

  test("tasks/cancel stops a working task and is acknowledged; an ended one is acknowledged as it is", async () => {
    await rpc("tools/list", {});
    const created = await rpc("tools/call", { name: "simulate-research-query", arguments: { topic: "cancel me", ambiguous: false } });
    const taskId = created.result!.taskId as string;
    expect((await rpc("tasks/cancel", { taskId })).result).toEqual({ resultType: "complete", _meta: expect.any(Object) });
    let task: Rpc | undefined;
    for (let i = 0; i < 50 && task?.result?.status !== "cancelled"; i++) {
      task = await rpc("tasks/get", { taskId });
      await Bun.sleep(50);
    }
    expect(task?.result?.status).toBe("cancelled");
    expect((await rpc("tasks/cancel", { taskId })).result).toMatchObject({ resultType: "complete" });
    expect((await rpc("tasks/update", { taskId, inputResponses: {} })).result).toMatchObject({ resultType: "complete" });
  });

  test("without the extension declared: tasks/* answer -32021 naming it; an unknown task is -32602; tasks/result is gone", async () => {
    const missing = await rpc("tasks/get", { taskId: "whatever" }, { extension: false });
    expect(missing.status).toBe(400);
    expect(missing.error).toMatchObject({ code: -32021, data: { requiredCapabilities: { extensions: { [TASKS]: {} } } } });
    expect((await rpc("tasks/get", { taskId: "no-such-task" })).error).toMatchObject({ code: -32602 });
    const removed = await rpc("tasks/result", { taskId: "no-such-task" });
    expect(removed).toMatchObject({ status: 404, error: { code: -32601 } });
  });
});
