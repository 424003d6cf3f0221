import { describe, expect, test } from "vitest";
import { gcraRate, gcraTake } from "./gcra.ts";
import type { LimitRule } from "./limit-rule.ts";
import { limitUsage } from "./limit-usage.ts";

const NOW = 1_000_000;

function rule(id: string, scope: LimitRule["scope"], scopeValue?: string): LimitRule {
  return { id, scope, ...(scopeValue !== undefined && { scopeValue }), count: 10, periodMs: 60_000, burst: 10, createdAt: 0 };
}

/** The TAT after `calls` calls taken at NOW from a full bucket of `r`. */
function tatAfter(r: LimitRule, calls: number): number {
  return gcraTake(0, NOW, gcraRate(r.count, r.periodMs, r.burst), calls).tat;
}

describe("limit usage", () => {
  test("what a bucket holds is what gcraTake would grant now: used and remaining add up to the burst", () => {
    const alice = rule("lim_a", "subject", "alice");
    const everyone = rule("lim_g", "global");
    const counters = [
      { key: "lim_a:alice", tat: tatAfter(alice, 3) },
      { key: "lim_g", tat: tatAfter(everyone, 10) },
    ];
    const usage = limitUsage([alice, everyone], counters, NOW + 1);
    expect(usage.map(({ key, used, remaining, resetsAt }) => ({ key, used, remaining, resetsAt }))).toEqual([
      { key: "alice", used: 3, remaining: 7, resetsAt: NOW + 18_000 },
      { key: "*", used: 10, remaining: 0, resetsAt: NOW + 60_000 },
    ]);
    // Six seconds (one call's worth at 10/min) later, one call has refilled; when the TAT is past, the bucket is full.
    expect(limitUsage([alice], counters, NOW + 6_001)[0]).toMatchObject({ used: 2, remaining: 8 });
    expect(limitUsage([alice], counters, NOW + 18_000)[0]).toMatchObject({ used: 0, remaining: 10, resetsAt: null });
    expect(limitUsage([alice, everyone], [], NOW)).toMatchObject([
      { key: "alice", used: 0, remaining: 10, resetsAt: null },
      { key: "*", used: 0, remaining: 10, resetsAt: null },
    ]);
  });

  test("a role rule has a bucket per subject that spent from it, or one row of nulls", () => {
    const interns = rule("lim_r", "role", "intern");
    expect(limitUsage([interns], [{ key: "lim_rx:carol", tat: NOW + 6_000 }], NOW)).toEqual([
      { rule: interns, key: "*", used: null, remaining: null, resetsAt: null },
    ]);
    const counters = [
      { key: "lim_r:bob", tat: tatAfter(interns, 1) },
      { key: "lim_r:carol", tat: tatAfter(interns, 2) },
    ];
    expect(limitUsage([interns], counters, NOW).map(({ key, used }) => [key, used])).toEqual([
      ["bob", 1],
      ["carol", 2],
    ]);
  });
});
