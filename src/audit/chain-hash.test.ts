import { describe, expect, test } from "vitest";
import type { AuditOutcomeFields } from "./audit-record.ts";
import { type BeginContent, beginHash, outcomeHash } from "./chain-hash.ts";

const PREV = "0".repeat(64);

const call: BeginContent = {
  chainId: "pinned.chain",
  seq: 1,
  kind: "call",
  ts: 1_700_000_000_000,
  requestId: "r1",
  sessionId: "s1",
  subject: "alice",
  roles: '["dev"]',
  clientName: "client",
  clientVersion: "1.0",
  backend: "lab",
  target: "echo",
  method: "tools/call",
  arguments: '{"text":"hi"}',
  bytesIn: 12,
  status: "pending",
  errorCode: null,
  errorMessage: null,
  durationMs: null,
  bytesOut: null,
  decision: null,
  rule: null,
  finishedAt: null,
  protocolVersion: null,
  exchange: null,
  credential: null,
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

  test("a credential mode is vouched for when set, and a record without one hashes as before it was recorded", () => {
    for (const record of [call, refusal]) {
      const hashes = new Set([null, "static", "per-subject-secret"].map((credential) => beginHash({ ...record, credential }, PREV)));
      expect(hashes.size).toBe(3);
      // Not to be read as another optional field with the same value.
      expect(beginHash({ ...record, credential: "2025-06-18" }, PREV)).not.toBe(beginHash({ ...record, protocolVersion: "2025-06-18" }, PREV));
    }
  });
});

describe("outcomeHash", () => {
  const outcome: AuditOutcomeFields = {
    status: "ok",
    errorCode: null,
    errorMessage: null,
    durationMs: 5,
    bytesOut: 10,
    decision: "allowed",
    rule: "dev",
    exchange: null,
    credentialId: null,
    finishedAt: 1_700_000_000_005,
  };
  const hash = (fields: AuditOutcomeFields) => outcomeHash("pinned.chain", 2, "1".repeat(64), { seq: 1, hash: "2".repeat(64) }, fields);

  // Computed by the code that wrote outcomes before the exchange was recorded (same reason as above).
  test("an outcome without an exchange hashes as outcomes always have", () => {
    expect(hash(outcome)).toBe("3f032d22aa204483799955f94c4c4882155d5e40296956444eb66a641727241e");
  });

  test("an exchange is vouched for, by the outcome of a call and by a refusal's one event", () => {
    expect(new Set([null, "x1", "x2"].map((exchange) => hash({ ...outcome, exchange }))).size).toBe(3);
    expect(beginHash({ ...refusal, exchange: "x1" }, PREV)).not.toBe(beginHash(refusal, PREV));
  });

  test("the credential's id is vouched for by the outcome, and not read as an exchange of the same value", () => {
    expect(new Set([null, "sec_1", "sec_2"].map((credentialId) => hash({ ...outcome, credentialId }))).size).toBe(3);
    expect(hash({ ...outcome, credentialId: "x1" })).not.toBe(hash({ ...outcome, exchange: "x1" }));
  });
});
