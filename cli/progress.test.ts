import { describe, expect, test } from "vitest";
import { progressLine } from "./progress.ts";

describe("progressLine", () => {
  test("a bar, the share, the count, the rate and the time left", () => {
    expect(progressLine("records", 25_000, 100_000, 2)).toBe(`[######------------------]   25%  25,000 of 100,000 records  12,500/s  ETA 6s`);
    expect(progressLine("records", 100_000, 100_000, 8)).toBe(`[########################]  100%  100,000 of 100,000 records  12,500/s  in 8s`);
    expect(progressLine("records", 1_000, 1_000_000, 10)).toContain("ETA 2h46m");
  });

  test("nothing to do is done at once", () => {
    expect(progressLine("records", 0, 0, 0)).toBe(`[########################]  100%  0 of 0 records  0/s  in 0s`);
  });
});
