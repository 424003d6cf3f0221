import { describe, expect, test } from "vitest";
import type { BackendHealthObserver } from "./backend-connection.ts";
import type { BackendHoldings } from "./backend-pool.ts";
import { BackendStatusBoard, LiveBackendStatus } from "./backend-status.ts";
import type { BackendSpec } from "./backend-spec.ts";

const spec = (name: string): BackendSpec => ({
  name,
  transport: "stdio",
  command: ["prog"],
  env: {},
  headers: {},
  timeoutMs: 1_000,
  createdAt: 0,
  updatedAt: 0,
});

function statusOf(board: BackendStatusBoard, holdings: Partial<Record<string, BackendHoldings>> = {}, pins: Record<string, string> = {}) {
  const specs = [spec("b"), spec("a")];
  return new LiveBackendStatus({
    registry: { list: () => specs, get: (name) => specs.find((s) => s.name === name) },
    board,
    holdings: (backend) => holdings[backend] ?? { shared: 0, dedicated: 0, processes: [] },
    pinOf: (backend, tool) => pins[`${backend}/${tool}`] ?? null,
  });
}

describe("the backends' live status", () => {
  test("health: unknown until a connection reports; since moves only when health changes; the last error stays after recovery", async () => {
    const board = new BackendStatusBoard();
    const status = statusOf(board);
    expect(status.get("a")).toMatchObject({ health: "unknown", since: null, lastError: null, era: null, protocolVersion: null, tools: [] });
    expect(status.get("nowhere")).toBeUndefined();

    board.failed("a", "connect", "backend a is unavailable: cannot connect: spawn prog ENOENT");
    const down = status.get("a")!;
    expect(down).toMatchObject({ health: "down", lastError: "backend a is unavailable: cannot connect: spawn prog ENOENT" });
    await Bun.sleep(5);
    board.failed("a", "connect", "again");
    expect(status.get("a")).toMatchObject({ health: "down", lastError: "again", since: down.since });

    await Bun.sleep(5);
    board.connected("a", { era: "modern", protocolVersion: "2026-07-28" });
    const up = status.get("a")!;
    expect(up).toMatchObject({ health: "up", lastError: "again", era: "modern", protocolVersion: "2026-07-28" });
    expect(Date.parse(up.since!)).toBeGreaterThan(Date.parse(down.since!));
    board.failed("a", "closed");
    expect(status.get("a")).toMatchObject({ health: "down", lastError: "the connection closed unexpectedly" });
  });

  test("tools: each capability scope's last listing (first page replaces, later pages add), scopes merged, by name, with their pins", () => {
    const board = new BackendStatusBoard();
    board.connected("a");
    board.toolsListed("a", "", true, [{ name: "echo", description: "Echoes" }, { name: "old" }]);
    board.toolsListed("a", "", true, [{ name: "echo", description: "Echoes" }]);
    board.toolsListed("a", "", false, [{ name: "add", description: "Adds" }, { notATool: true }]);
    board.toolsListed("a", "sampling", true, [
      { name: "sample", description: "Asks the model" },
      { name: "echo", description: "Echoes" },
    ]);
    expect(statusOf(board, {}, { "a/echo": "pinned", "a/sample": "changed" }).get("a")!.tools).toEqual([
      { name: "add", description: "Adds", pin: null },
      { name: "echo", description: "Echoes", pin: "pinned" },
      { name: "sample", description: "Asks the model", pin: "changed" },
    ]);
  });

  test("connections and processes come from the pool; the list is every registered backend by name", () => {
    const board = new BackendStatusBoard();
    const holdings = {
      b: {
        shared: 1,
        dedicated: 1,
        processes: [
          { pid: 20, session: "s-1" },
          { pid: 10, session: null },
        ],
      },
    };
    const list = statusOf(board, holdings).list();
    expect(list.map((s) => s.name)).toEqual(["a", "b"]);
    expect(list[1]).toMatchObject({
      connections: { shared: 1, dedicated: 1 },
      processes: [
        { pid: 10, session: null },
        { pid: 20, session: "s-1" },
      ],
    });
  });

  test("health is passed on to the next observer (the metrics)", () => {
    const seen: string[] = [];
    const next: BackendHealthObserver = {
      connected: (backend, link) => seen.push(`up ${backend} ${link?.era}`),
      failed: (backend, reason, error) => seen.push(`down ${backend} ${reason} ${error}`),
    };
    const board = new BackendStatusBoard(next);
    board.connected("a", { era: "legacy", protocolVersion: "2025-11-25" });
    board.failed("a", "closed", "crashed");
    expect(seen).toEqual(["up a legacy", "down a closed crashed"]);
  });
});
