import type { ExchangedToken } from "./token-exchange.ts";

/** An exchanged token is used until this long before it expires, so it never expires in flight. */
export const REFRESH_MARGIN_MS = 30_000;
/** Tokens held at most; beyond, the oldest are dropped (and exchanged again when next needed). */
export const MAX_EXCHANGED_TOKENS = 10_000;

interface Entry {
  token: ExchangedToken;
  /** Used until then (epoch ms): expiry minus the margin. */
  usableUntilMs: number;
}

/**
 * Exchanged tokens per key — the backend's exchange settings and the calling subject — until
 * shortly before they expire. Concurrent requests for one key share one exchange in flight; a
 * failed exchange is not remembered (the next call tries again). Memory only: a restart exchanges anew.
 */
export class ExchangeCache {
  private readonly tokens = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<ExchangedToken>>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly maxEntries = MAX_EXCHANGED_TOKENS,
  ) {}

  /** The usable token for `key`, or the result of `exchange()`, which runs at most once at a time per key. */
  async get(key: string, exchange: () => Promise<ExchangedToken>): Promise<ExchangedToken> {
    const held = this.tokens.get(key);
    if (held && held.usableUntilMs > this.now()) return held.token;
    if (held) this.tokens.delete(key);
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const started = (async () => {
      try {
        const token = await exchange();
        this.keep(key, token);
        return token;
      } finally {
        this.inFlight.delete(key);
      }
    })();
    this.inFlight.set(key, started);
    return started;
  }

  /** The usable token for `key` if one is held, without exchanging. */
  peek(key: string): ExchangedToken | undefined {
    const held = this.tokens.get(key);
    return held && held.usableUntilMs > this.now() ? held.token : undefined;
  }

  get size(): number {
    return this.tokens.size;
  }

  private keep(key: string, token: ExchangedToken): void {
    // Without a known expiry the token serves the calls waiting for it, and is not kept.
    if (token.expiresAtMs === undefined) return;
    const usableUntilMs = token.expiresAtMs - REFRESH_MARGIN_MS;
    if (usableUntilMs <= this.now()) return;
    if (this.tokens.size >= this.maxEntries) this.evict();
    this.tokens.set(key, { token, usableUntilMs });
  }

  /** Drops the expired entries, and if none were, the oldest (Map order is insertion order). */
  private evict(): void {
    const now = this.now();
    for (const [key, entry] of this.tokens) if (entry.usableUntilMs <= now) this.tokens.delete(key);
    if (this.tokens.size >= this.maxEntries) this.tokens.delete(this.tokens.keys().next().value!);
  }
}
