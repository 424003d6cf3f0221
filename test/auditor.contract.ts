import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { AUDIT_UNAVAILABLE_CODE, AuditUnavailableError } from "../src/audit/audit-errors.ts";
import type { AuditContext, AuditStatus, Auditor } from "../src/audit/auditor.ts";

/** One record as the contract reads it back, whatever the implementation keeps. */
export interface RecordedCall {
  /** A call (begin, then its outcome), a refusal, or an event that is neither (record()). */
  kind: "call" | "refusal" | "event";
  requestId: string | undefined;
  method: string;
  subject: string | undefined;
  roles: string[] | undefined;
  sessionId: string | undefined;
  backend: string | undefined;
  target: string | undefined;
  /** "pending" while a begun call has no outcome yet. */
  status: AuditStatus | "pending";
  errorCode: number | undefined;
  errorMessage: string | undefined;
  /** The arguments as kept, serialised (redacted where the implementation redacts). */
  arguments: string | undefined;
}

/** An Auditor set up for the contract, with the means to read back what it recorded. */
export interface AuditorUnderTest {
  auditor: Auditor;
  /** Every record this auditor has made so far, read from where it keeps them (its store, for a store auditor). */
  records(): Promise<RecordedCall[]>;
  /** Resolves once the outcomes given to finish() so far are kept (outcomes are committed asynchronously). */
  settled(): Promise<void>;
  /** With `canFail`: makes the storage behind the auditor fail (true) or work again (false). */
  breakStorage?(down: boolean): void;
  close(): Promise<void>;
}

/** Where implementations legitimately differ. */
export interface AuditorCapabilities {
  /** Keeps records (false: MCPGW_AUDIT=off, which records nothing and never refuses). */
  records: boolean;
  /** Redacts secret-keyed argument values before keeping them (a test double keeps what it is told). */
  redacts: boolean;
  /** Has storage that can fail, and so can refuse a call (breakStorage is given). */
  canFail: boolean;
}

let ids = 0;
/** A call's context, unique per test run so records of several tests never mix. */
function callContext(overrides: Partial<AuditContext> = {}): AuditContext & { requestId: string } {
  return {
    requestId: `c${++ids}-${crypto.randomUUID().slice(0, 8)}`,
    sessionId: "session-1",
    subject: "alice",
    roles: ["reader"],
    backend: "lab",
    target: "echo",
    method: "tools/call",
    arguments: { text: "hello" },
    ...overrides,
  };
}

async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

/**
 * The Auditor contract (src/audit/auditor.ts), run on every implementation: the store auditor
 * on both stores, `none`, the observing decorator and the test doubles. What the pipeline relies on:
 * begin() resolves only once the call's record is kept (write-ahead) and rejects with
 * AuditUnavailableError when it cannot be (the call is then not forwarded); finish() records the
 * first outcome on the call's own record and never throws; refuse() resolves once the refusal is
 * kept as one complete record and never rejects (nothing was forwarded).
 */
export function runAuditorContract(name: string, capabilities: AuditorCapabilities, setup: () => Promise<AuditorUnderTest | undefined>): void {
  describe(`Auditor contract: ${name}`, () => {
    let under: AuditorUnderTest | undefined;
    const recordOf = async (requestId: string) => (await under!.records()).filter((record) => record.requestId === requestId);

    beforeAll(async () => {
      under = await setup();
    });
    afterAll(async () => under?.close());

    test("begin resolves only once the call's record is kept: pending, with who called what", async (context) => {
      if (!under) return context.skip();
      const call = callContext();
      const entry = await under.auditor.begin(call);
      // Read at once, before anything else runs: a write-ahead record exists when begin resolves.
      const kept = await recordOf(call.requestId);
      if (!capabilities.records) {
        expect(kept).toEqual([]);
        entry.finish({ status: "ok" });
        return;
      }
      expect(kept).toEqual([
        expect.objectContaining({
          method: "tools/call",
          subject: "alice",
          roles: ["reader"],
          sessionId: "session-1",
          backend: "lab",
          target: "echo",
          status: "pending",
        }),
      ]);
      entry.finish({ status: "ok" });
      await under.settled();
      expect(await recordOf(call.requestId)).toEqual([expect.objectContaining({ status: "ok" })]);
    });

    test("finish records each call's outcome on its own record, in whatever order calls end", async (context) => {
      if (!under) return context.skip();
      const calls = Array.from({ length: 20 }, (_, i) => callContext({ target: `tool-${i}` }));
      const entries = await Promise.all(calls.map((call) => under!.auditor.begin(call)));
      const outcomes = calls.map((_, i) =>
        i % 4 === 0
          ? { status: "error" as const, errorCode: -32010 - i, errorMessage: `backend failed on ${i}` }
          : { status: i % 4 === 1 ? ("timeout" as const) : ("ok" as const) },
      );
      for (let i = entries.length - 1; i >= 0; i--) entries[i]!.finish(outcomes[i]!);
      await under.settled();
      const records = await under.records();
      for (const [i, call] of calls.entries()) {
        const kept = records.filter((record) => record.requestId === call.requestId);
        if (!capabilities.records) {
          expect(kept).toEqual([]);
          continue;
        }
        const { status, errorCode, errorMessage } = outcomes[i]!;
        expect(kept).toEqual([expect.objectContaining({ target: `tool-${i}`, status, errorCode, errorMessage })]);
      }
    });

    test("the first outcome is the one kept: a second finish changes nothing and does not throw", async (context) => {
      if (!under) return context.skip();
      const call = callContext();
      const entry = await under.auditor.begin(call);
      entry.finish({ status: "ok" });
      expect(() => entry.finish({ status: "error", errorMessage: "a later failure (e.g. filtering the result)" })).not.toThrow();
      await under.settled();
      const kept = await recordOf(call.requestId);
      expect(kept).toEqual(capabilities.records ? [expect.objectContaining({ status: "ok", errorMessage: undefined })] : []);
    });

    test("refuse resolves once the refusal is kept as one complete record, for every refusal status and any method", async (context) => {
      if (!under) return context.skip();
      const refusals = [
        { call: callContext(), outcome: { status: "denied" as const, errorCode: -32003, errorMessage: "no role allows lab/echo" } },
        {
          call: callContext({ method: "tools/list", target: undefined, arguments: undefined }),
          outcome: { status: "rate_limited" as const, errorMessage: "retry in 5s" },
        },
        {
          call: callContext({ method: "initialize", subject: undefined, roles: undefined }),
          outcome: { status: "unauthenticated" as const, errorMessage: "no token" },
        },
        { call: callContext(), outcome: { status: "invalid" as const, errorCode: -32602, errorMessage: "arguments do not match the schema" } },
      ];
      for (const { call, outcome } of refusals) {
        await under.auditor.refuse(call, outcome);
        // Kept when refuse resolves: the client hears of its refusal only after the record exists.
        const kept = await recordOf(call.requestId);
        if (!capabilities.records) {
          expect(kept).toEqual([]);
          continue;
        }
        const { status, errorCode, errorMessage } = outcome;
        expect(kept).toEqual([expect.objectContaining({ kind: "refusal", method: call.method, subject: call.subject, status, errorCode, errorMessage })]);
      }
    });

    test("record keeps an event that is not a call as one complete record of its own kind, and resolves once it is kept", async (context) => {
      if (!under) return context.skip();
      const change = callContext({ method: "admin/roles.create", backend: undefined, target: "ops", arguments: { before: null, after: { name: "ops" } } });
      const eviction = callContext({ method: "session end", target: undefined, arguments: undefined });
      await under.auditor.record(change, { status: "ok", decision: "allowed", rule: "allow admin:* (role ops)" });
      await under.auditor.record(eviction, { status: "cancelled", errorMessage: "ended to make room", decision: "evicted" });
      for (const [event, status] of [
        [change, "ok"],
        [eviction, "cancelled"],
      ] as const) {
        const kept = await recordOf(event.requestId);
        if (!capabilities.records) {
          expect(kept).toEqual([]);
          continue;
        }
        expect(kept).toEqual([expect.objectContaining({ kind: "event", method: event.method, subject: event.subject, status })]);
      }
    });

    if (capabilities.redacts)
      test("secret-keyed argument values are never kept", async (context) => {
        if (!under) return context.skip();
        const call = callContext({ arguments: { query: "open issues", api_key: "sk-live-0123456789", nested: { password: "hunter2" } } });
        (await under.auditor.begin(call)).finish({ status: "ok" });
        await under.auditor.refuse({ ...call, requestId: `${call.requestId}-refused` }, { status: "denied" });
        await under.settled();
        const kept = [...(await recordOf(call.requestId)), ...(await recordOf(`${call.requestId}-refused`))];
        expect(kept).toHaveLength(2);
        for (const record of kept) {
          expect(record.arguments).toContain("open issues");
          expect(record.arguments).not.toMatch(/sk-live-0123456789|hunter2/);
        }
      });

    if (!capabilities.canFail)
      test("never refuses a call: begin and refuse resolve for any context", async (context) => {
        if (!under) return context.skip();
        const odd = callContext({
          requestId: undefined,
          sessionId: undefined,
          subject: "x".repeat(10_000),
          arguments: { deep: [[[[1]]]], n: 2 ** 60 },
          bytesIn: -1,
        });
        const entry = await under.auditor.begin(odd);
        expect(() => entry.finish({ status: "incomplete", errorCode: 2 ** 40, bytesOut: Number.NaN })).not.toThrow();
        await expect(under.auditor.refuse(odd, { status: "cancelled" })).resolves.toBeUndefined();
      });

    if (capabilities.canFail)
      test("storage down: begin rejects with AuditUnavailableError (the call is not forwarded), refuse still resolves, and calls are admitted again once it returns", async (context) => {
        if (!under) return context.skip();
        const before = callContext();
        const running = await under.auditor.begin(before);
        under.breakStorage!(true);
        let refusedAfterBreak: AuditContext | undefined;
        try {
          const during = callContext();
          const failure = await under.auditor.begin(during).then(
            (entry) => {
              entry.finish({ status: "ok" });
              return undefined;
            },
            (err: unknown) => err,
          );
          expect(failure).toBeInstanceOf(AuditUnavailableError);
          expect((failure as AuditUnavailableError).code).toBe(AUDIT_UNAVAILABLE_CODE);
          expect((failure as Error).message).toMatch(/not forwarded/);
          refusedAfterBreak = callContext();
          // Nothing was forwarded: a refusal is never itself refused, and the call already running may still end.
          await expect(under.auditor.refuse(refusedAfterBreak, { status: "denied", errorMessage: "refused while the store is down" })).resolves.toBeUndefined();
          expect(() => running.finish({ status: "ok" })).not.toThrow();
        } finally {
          under.breakStorage!(false);
        }
        const after = callContext();
        let admitted: Awaited<ReturnType<Auditor["begin"]>> | undefined;
        await eventually(async () => {
          admitted = await under!.auditor.begin(after).catch(() => undefined);
          return admitted !== undefined;
        }, "the auditor to admit calls again");
        admitted!.finish({ status: "ok" });
        await under.settled();
        // What was kept in memory while the store was down is written once it returns.
        await eventually(async () => (await recordOf(refusedAfterBreak!.requestId!)).length === 1, "the refusal made while the store was down");
        expect(await recordOf(before.requestId)).toEqual([expect.objectContaining({ status: "ok" })]);
        expect(await recordOf(after.requestId)).toEqual([expect.objectContaining({ status: "ok" })]);
      });
  });
}
