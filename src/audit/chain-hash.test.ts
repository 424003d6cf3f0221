import { describe, expect, test } from "vitest";
import { type BeginContent, beginHash } from "./chain-hash.ts";

const PREV = "0".repeat(64);

const call: BeginContent = {
  chainId: "pinned.chain", seq: 1, kind: "call", ts: 1_700_000_000_000, requestId: "r1", sessionId: "s1", subject: "alice", roles: '["dev"]',
  clientName: "client", clientVersion: "1.0", backend: "lab", target: "echo", method: "tools/call", arguments: '{"text":"hi"}', bytesIn: 12,
  status: "pending", errorCode: null, errorMessage: null, durationMs: null, bytesOut: null, decision: null, rule: null, finishedAt: null,
  protocolVersion: null,
};

const refusal: BeginContent = { ...call, kind: "refusal", status: "denied", errorMessage: "no", decision: "deny", rule: "r", finishedAt: 1_700_000_000_001 };

describe("beginHash", () => {
  // Computed by the code that wrote records before the protocol version was recorded: a stored
  // record must hash the same forever, or `mcpgw audit verify` would call every old log altered.
  test("a record without a protocol version hashes as records always have", () => {
    expect(beginHash(call, PREV)).toBe("c14c0165dd82110477847cc2939508ef76ad147e864b76cc205756c75b90e7bf");
    expect(beginHash(refusal, PREV)).toBe("c846c3753d1f841dba58353537ef6b67e67af45c2d90b9a6ae26d4fcd49d108c");
  });

  test("a protocol version is vouched for: each value hashes differently, and differently from none", () => {
    for (const record of [call, refusal]) {
      const hashes = new Set([null, "", "2025-06-18", "2026-07-28"].map((protocolVersion) => beginHash({ ...record, protocolVersion }, PREV)));
      expect(hashes.size).toBe(4);
    }
  });
});
