import { describe, expect, test } from "vitest";
import type { AuditStatus } from "../audit/auditor.ts";
import { CallStats, MAX_MINUTES, OTHER_BACKENDS } from "./call-stats.ts";

const T0 = Date.UTC(2026, 11, 5, 12, 0, 0);
const MINUTE = 60_000;

function record(stats: CallStats, at: number, status: AuditStatus, latencyMs: number | undefined, backend = "work"): void {
  stats.record({ method: "tools/call", backend, subject: "alice" }, { status }, latencyMs, at);
}

describe("call stats", () => {
  test("every minute of the window, oldest first, zeros included; forwarded calls and refusals apart", () => {
    const stats = new CallStats(T0);
    record(stats, T0 + 1_000, "ok", 5);
    record(stats, T0 + 2_000, "error", 7);
    record(stats, T0 + 3_000, "timeout", 30_000);
    record(stats, T0 + 4_000, "denied", undefined);
    record(stats, T0 + 2 * MINUTE + 5, "rate_limited", undefined);
    record(stats, T0 + 2 * MINUTE + 6, "unauthenticated", undefined);
    record(stats, T0 + 2 * MINUTE + 7, "invalid", undefined);
    // The definition guard refuses after the write-ahead record: it has a latency, and is a refusal all the same.
    record(stats, T0 + 2 * MINUTE + 8, "denied", 3);

    const view = stats.view(4, T0 + 2 * MINUTE + 30_000);
    // 7 ms is in the bucket (5, 7.5]: estimated as its upper bound; 30 s is the slowest call seen.
    expect(view.since).toBe(new Date(T0).toISOString());
    expect(view.minutes).toEqual([
      { t: new Date(T0 - MINUTE).toISOString(), calls: 0, refusals: 0 },
      { t: new Date(T0).toISOString(), calls: 3, refusals: 1 },
      { t: new Date(T0 + MINUTE).toISOString(), calls: 0, refusals: 0 },
      { t: new Date(T0 + 2 * MINUTE).toISOString(), calls: 0, refusals: 4 },
    ]);
    expect(view.backends).toEqual([{ backend: "work", calls: 3, errors: 2, p50Ms: 7.5, p90Ms: 30_000, p99Ms: 30_000 }]);
    // The window leaves the calls behind: no backend, and the percentiles are not made up.
    expect(stats.view(1, T0 + 2 * MINUTE).backends).toEqual([]);
  });

  test("percentiles from the histogram stay within a bucket of the true ones, and never above the slowest call", () => {
    const stats = new CallStats(T0);
    for (let ms = 1; ms <= 1_000; ms++) record(stats, T0, "ok", ms, "fs");
    const [fs] = stats.view(1, T0).backends;
    expect(fs!.p50Ms).toBeGreaterThanOrEqual(300);
    expect(fs!.p50Ms).toBeLessThanOrEqual(750);
    expect(fs!.p90Ms).toBeGreaterThanOrEqual(750);
    expect(fs!.p99Ms).toBeLessThanOrEqual(1_000);
    expect(fs!.p99Ms).toBeGreaterThan(fs!.p90Ms!);
  });

  test("memory stays bounded: the ring reuses a slot MAX_MINUTES later, and made-up backends share one entry", () => {
    const stats = new CallStats(T0);
    record(stats, T0, "ok", 1);
    record(stats, T0 + MAX_MINUTES * MINUTE, "ok", 1);
    expect(stats.view(MAX_MINUTES, T0 + MAX_MINUTES * MINUTE).minutes.reduce((sum, minute) => sum + minute.calls, 0)).toBe(1);

    for (let i = 0; i < 1_000; i++) record(stats, T0 + MAX_MINUTES * MINUTE, "error", 1, `made-up-${i}`);
    const backends = stats.view(1, T0 + MAX_MINUTES * MINUTE).backends;
    expect(backends).toHaveLength(65);
    expect(backends.find((b) => b.backend === OTHER_BACKENDS)).toMatchObject({ calls: 1_000 - 63, errors: 1_000 - 63 });
  });

  test("the window is 1 to MAX_MINUTES minutes", () => {
    const stats = new CallStats(T0);
    expect(stats.view(0, T0).minutes).toHaveLength(1);
    expect(stats.view(10_000, T0).minutes).toHaveLength(MAX_MINUTES);
  });
});
