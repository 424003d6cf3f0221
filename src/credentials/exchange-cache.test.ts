import { describe, expect, test } from "vitest";
import { ExchangeCache, REFRESH_MARGIN_MS } from "./exchange-cache.ts";
import type { ExchangedToken } from "./token-exchange.ts";

function clock(start = 1_000_000) {
  const state = { now: start };
  return { state, now: () => state.now };
}

describe("ExchangeCache", () => {
  test("one exchange per key until the margin before expiry, then a new one; keys never share", async () => {
    const { state, now } = clock();
    const cache = new ExchangeCache(now);
    let exchanges = 0;
    const exchange = (lifetimeMs: number) => async (): Promise<ExchangedToken> => ({ accessToken: `t${++exchanges}`, expiresAtMs: now() + lifetimeMs });
    expect((await cache.get("alice", exchange(60_000))).accessToken).toBe("t1");
    state.now += 60_000 - REFRESH_MARGIN_MS - 1;
    expect((await cache.get("alice", exchange(60_000))).accessToken).toBe("t1");
    expect((await cache.get("bob", exchange(60_000))).accessToken).toBe("t2");
    state.now += 1;
    expect(cache.peek("alice")).toBeUndefined();
    expect((await cache.get("alice", exchange(60_000))).accessToken).toBe("t3");
    // A lifetime within the margin, or none known, is used by the calls waiting for it and not kept.
    expect((await cache.get("carol", exchange(REFRESH_MARGIN_MS))).accessToken).toBe("t4");
    expect((await cache.get("carol", exchange(REFRESH_MARGIN_MS))).accessToken).toBe("t5");
    expect((await cache.get("dave", async () => ({ accessToken: "opaque" }))).accessToken).toBe("opaque");
    expect(cache.peek("dave")).toBeUndefined();
  });

  test("concurrent requests for one key share one exchange in flight; a failure is not remembered", async () => {
    const cache = new ExchangeCache();
    let exchanges = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = async (): Promise<ExchangedToken> => {
      exchanges += 1;
      await gate;
      return { accessToken: "shared", expiresAtMs: Date.now() + 3_600_000 };
    };
    const waiting = Array.from({ length: 50 }, () => cache.get("alice", slow));
    release();
    expect(new Set((await Promise.all(waiting)).map((token) => token.accessToken))).toEqual(new Set(["shared"]));
    expect(exchanges).toBe(1);

    const failing = Array.from({ length: 5 }, () => cache.get("bob", async () => Promise.reject(new Error("refused"))));
    for (const attempt of failing) await expect(attempt).rejects.toThrow("refused");
    expect((await cache.get("bob", async () => ({ accessToken: "later", expiresAtMs: Date.now() + 3_600_000 }))).accessToken).toBe("later");
  });

  test("holds at most its bound, dropping the oldest", async () => {
    const cache = new ExchangeCache(Date.now, 3);
    for (const key of ["a", "b", "c", "d"]) await cache.get(key, async () => ({ accessToken: key, expiresAtMs: Date.now() + 3_600_000 }));
    expect(cache.size).toBe(3);
    expect(cache.peek("a")).toBeUndefined();
    expect(cache.peek("d")?.accessToken).toBe("d");
  });
});
