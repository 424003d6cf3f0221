import { describe, expect, test } from "vitest";
import { gcraRate, gcraTake } from "./gcra.ts";

/** Takes `calls` single calls at the given times (ms) and returns which were granted. */
function run(rate: ReturnType<typeof gcraRate>, times: number[]): { granted: boolean[]; retries: number[] } {
  let tat = 0;
  const granted: boolean[] = [];
  const retries: number[] = [];
  for (const now of times) {
    const take = gcraTake(tat, now, rate, 1);
    granted.push(take.granted === 1);
    retries.push(take.retryAfterMs);
    tat = take.tat;
  }
  return { granted, retries };
}

describe("GCRA", () => {
  test.each([
    ["10/min, burst 10: ten at once, then refused", gcraRate(10, 60_000), Array(11).fill(1_000), [...Array(10).fill(true), false]],
    ["10/min, burst 3: three at once", gcraRate(10, 60_000, 3), Array(4).fill(0), [true, true, true, false]],
    ["burst 1 spaces calls by T", gcraRate(1, 1_000, 1), [0, 500, 999, 1_000, 1_500, 2_000], [true, false, false, true, false, true]],
    [
      "refill: one call frees every T after a burst",
      gcraRate(5, 5_000),
      [0, 0, 0, 0, 0, 0, 999, 1_000, 1_001, 2_000],
      [true, true, true, true, true, false, false, true, false, true],
    ],
    ["an idle bucket refills to the burst, not beyond", gcraRate(2, 1_000), [0, 0, 100_000, 100_000, 100_000], [true, true, true, true, false]],
  ])("%s", (_name, rate, times, expected) => {
    expect(run(rate, times).granted).toEqual(expected);
  });

  test("the retry delay is exactly the time until one call fits", () => {
    const rate = gcraRate(10, 60_000);
    const { retries } = run(rate, [...Array(10).fill(0), 0, 1_500]);
    expect(retries[10]).toBe(6_000);
    expect(retries[11]).toBe(4_500);
  });

  test("taking several at once grants what fits and leaves the rest", () => {
    const rate = gcraRate(10, 1_000);
    const first = gcraTake(0, 0, rate, 7);
    expect(first).toMatchObject({ granted: 7, tat: 700 });
    const second = gcraTake(first.tat, 0, rate, 7);
    expect(second).toMatchObject({ granted: 3, tat: 1_000 });
    const third = gcraTake(second.tat, 0, rate, 7);
    expect(third).toMatchObject({ granted: 0, tat: 1_000, retryAfterMs: 100 });
    expect(gcraTake(third.tat, 250, rate, 7)).toMatchObject({ granted: 2, tat: 1_200 });
  });
});
