import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { LimitRule } from "../src/limits/limit-rule.ts";
import { LeasingRateLimiter, type LimitedCall } from "../src/limits/rate-limiter.ts";
import type { Store } from "../src/store/store.ts";
import type { StoreFixture } from "./helpers/store-fixtures.ts";

const MIN = 60_000;
let ids = 0;
function rule(overrides: Partial<LimitRule> & Pick<LimitRule, "scope">): LimitRule {
  return { id: `r${++ids}-${crypto.randomUUID().slice(0, 6)}`, count: 10, periodMs: MIN, burst: 10, createdAt: 0, ...overrides };
}
const call = (subject: string, overrides: Partial<LimitedCall> = {}): LimitedCall => ({
  subject,
  roles: [],
  method: "tools/call",
  backend: "gh",
  tool: "get_issue",
  ...overrides,
});

/** The RateLimiter contract, run on every store. Time is a fake clock, so the math is exact. */
export function runRateLimiterContract(name: string, setup: () => Promise<StoreFixture | undefined>): void {
  describe(`RateLimiter contract: ${name}`, () => {
    let fixture: StoreFixture | undefined;
    let now = 1_000_000;
    const clock = () => now;
    const limiter = (store: Store, rules: LimitRule[]) => {
      const l = new LeasingRateLimiter(store.limits, { now: clock });
      l.setRules(rules);
      return l;
    };
    const admitted = async (l: LeasingRateLimiter, c: LimitedCall, times: number) => {
      let n = 0;
      for (let i = 0; i < times; i++) if ((await l.check(c)).allowed) n++;
      return n;
    };

    beforeAll(async () => {
      fixture = await setup();
      await fixture?.store.migrate();
    });
    afterAll(async () => fixture?.cleanup());

    test("N calls per minute: exactly N in a burst, then a refusal whose retry delay is one interval", async (context) => {
      if (!fixture) return context.skip();
      const l = limiter(fixture.store, [rule({ scope: "subject", scopeValue: "alice", count: 12, burst: 12 })]);
      expect(await admitted(l, call("alice"), 20)).toBe(12);
      const refused = await l.check(call("alice"));
      expect(refused).toMatchObject({ allowed: false, retryAfterMs: 5_000 });
      now += 5_000;
      expect((await l.check(call("alice"))).allowed).toBe(true);
      expect((await l.check(call("alice"))).allowed).toBe(false);
    });

    test("another subject is unaffected; a role rule gives each member its own bucket", async (context) => {
      if (!fixture) return context.skip();
      const l = limiter(fixture.store, [
        rule({ scope: "subject", scopeValue: "alice", count: 2, burst: 2 }),
        rule({ scope: "role", scopeValue: "intern", count: 3, burst: 3 }),
      ]);
      expect(await admitted(l, call("alice"), 5)).toBe(2);
      expect(await admitted(l, call("bob"), 5)).toBe(5);
      expect(await admitted(l, call("carol", { roles: ["intern"] }), 5)).toBe(3);
      expect(await admitted(l, call("dave", { roles: ["intern"] }), 5)).toBe(3);
    });

    test("a global rule is one bucket for everyone", async (context) => {
      if (!fixture) return context.skip();
      const l = limiter(fixture.store, [rule({ scope: "global", count: 4, burst: 4 })]);
      expect((await admitted(l, call("a"), 2)) + (await admitted(l, call("b"), 2)) + (await admitted(l, call("c"), 2))).toBe(4);
    });

    test("a per-tool rule leaves other tools, lists and other methods free", async (context) => {
      if (!fixture) return context.skip();
      const l = limiter(fixture.store, [rule({ scope: "subject", scopeValue: "erin", toolPattern: "gh/create_*", count: 1, burst: 1 })]);
      expect(await admitted(l, call("erin", { tool: "create_issue" }), 3)).toBe(1);
      expect(await admitted(l, call("erin", { tool: "create_pr" }), 1)).toBe(0);
      expect(await admitted(l, call("erin", { tool: "get_issue" }), 3)).toBe(3);
      expect(await admitted(l, call("erin", { method: "tools/list" }), 3)).toBe(3);
      expect(await admitted(l, call("erin", { method: "resources/read" }), 3)).toBe(3);
    });

    test("several rules on one call: the most restrictive refuses, and a refused call costs the others nothing", async (context) => {
      if (!fixture) return context.skip();
      const loose = rule({ scope: "subject", scopeValue: "frank", count: 5, burst: 5 });
      const tight = rule({ scope: "subject", scopeValue: "frank", toolPattern: "gh/*", count: 2, burst: 2 });
      const l = limiter(fixture.store, [loose, tight]);
      expect(await admitted(l, call("frank"), 4)).toBe(2);
      const refusal = await l.check(call("frank"));
      expect(refusal).toMatchObject({ allowed: false, rule: { id: tight.id } });
      // The loose rule spent only the two admitted calls: three more fit on another backend.
      expect(await admitted(l, call("frank", { backend: "jira" }), 5)).toBe(3);
    });

    test("two gateways sharing the store never admit more than the rule together", async (context) => {
      if (!fixture) return context.skip();
      const shared = rule({ scope: "global", count: 50, burst: 50 });
      const peer = fixture.openPeer();
      try {
        const a = limiter(fixture.store, [shared]);
        const b = limiter(peer, [shared]);
        const results = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).check(call(`s${i}`))));
        expect(results.filter((r) => r.allowed)).toHaveLength(50);
      } finally {
        await peer.close();
      }
    });

    test("a daily quota survives a restart (a new limiter on the same store)", async (context) => {
      if (!fixture) return context.skip();
      const quota = rule({ scope: "subject", scopeValue: "gina", count: 3, periodMs: 86_400_000, burst: 3 });
      expect(await admitted(limiter(fixture.store, [quota]), call("gina"), 2)).toBe(2);
      const restarted = limiter(fixture.store, [quota]);
      expect(await admitted(restarted, call("gina"), 5)).toBe(1);
      const refused = await restarted.check(call("gina"));
      expect(refused.allowed).toBe(false);
      if (!refused.allowed) expect(refused.retryAfterMs).toBe(86_400_000 / 3);
    });
  });
}
