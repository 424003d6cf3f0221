import type { LimitRepository } from "./limit-repository.ts";
import { type GcraRate, gcraRate } from "./gcra.ts";
import { type CompiledLimitRule, type LimitRule, compileLimitRule } from "./limit-rule.ts";

/** One call as limits see it. */
export interface LimitedCall {
  subject: string;
  roles: readonly string[];
  method: string;
  backend?: string;
  tool?: string;
}

export type LimitDecision = { allowed: true } | { allowed: false; retryAfterMs: number; rule: LimitRule };

const ALLOWED: LimitDecision = { allowed: true };

/** The rate-limit seam: every implementation passes test/rate-limiter.contract.ts. */
export interface RateLimiter {
  /** Replaces the rules in force (on start and on every change of the "limits" topic). */
  setRules(rules: LimitRule[]): void;
  /**
   * Admits or refuses one call; an admitted call has been counted against every rule it matches.
   * The decision comes at once when no store round trip is needed, otherwise as a promise.
   */
  check(call: LimitedCall): LimitDecision | Promise<LimitDecision>;
  /** False while no rule is in force: every call would be admitted, so callers may skip check(). */
  readonly enforcing: boolean;
}

interface Bucket {
  tokens: number;
  expiresAt: number;
  blockedUntil: number;
  leasing: Promise<void> | undefined;
}

export interface LeasingOptions {
  /** How long leased tokens may be spent (the bound on how far a lease shifts calls in time). Default 1 s. */
  leaseLifetimeMs?: number;
  now?: () => number;
}

/**
 * Rate limiting without a database round trip per call: each gateway leases a few calls at a
 * time from the shared GCRA bucket in the store (one transaction, row-locked on Postgres) and
 * spends them locally. A lease takes its calls from the shared budget at once, so replicas
 * together never exceed it; the only slack is that a leased call may be spent up to the lease
 * lifetime later. Over any window W, a rule admits at most burst + (W + lifetime) / T calls,
 * T = period / count. Lease size: 1/20 of the burst (at least 1), so small quotas lease one by one.
 * After a refusal, the bucket stays closed locally until the retry time (no store traffic).
 */
export class LeasingRateLimiter implements RateLimiter {
  private rules: CompiledLimitRule[] = [];
  private readonly buckets = new Map<string, Bucket>();
  private readonly lifetimeMs: number;
  private readonly now: () => number;

  constructor(
    private readonly repository: LimitRepository,
    options: LeasingOptions = {},
  ) {
    this.lifetimeMs = options.leaseLifetimeMs ?? 1_000;
    this.now = options.now ?? Date.now;
  }

  get enforcing(): boolean {
    return this.rules.length > 0;
  }

  setRules(rules: LimitRule[]): void {
    this.rules = rules.map(compileLimitRule);
    // Local leases of removed or changed rules must not outlive them.
    this.buckets.clear();
  }

  check(call: LimitedCall): LimitDecision | Promise<LimitDecision> {
    if (this.rules.length === 0) return ALLOWED;
    // The common case, with no promise per rule: every matching bucket holds a live token.
    const now = this.now();
    const taken: Bucket[] = [];
    for (const compiled of this.rules) {
      if (!compiled.matches(call)) continue;
      const bucket = this.buckets.get(compiled.key(call.subject));
      if (bucket === undefined || bucket.tokens <= 0 || now >= bucket.expiresAt) {
        for (const spent of taken) spent.tokens += 1;
        return this.checkLeasing(call);
      }
      bucket.tokens -= 1;
      taken.push(bucket);
    }
    return ALLOWED;
  }

  /** check() when some bucket must lease (or is closed): one rule at a time, awaiting leases. */
  private async checkLeasing(call: LimitedCall): Promise<LimitDecision> {
    const taken: Bucket[] = [];
    for (const compiled of this.rules) {
      if (!compiled.matches(call)) continue;
      const key = compiled.key(call.subject);
      const refusal = await this.take(compiled, key);
      if (refusal !== undefined) {
        // All or nothing: calls taken from other rules for this refused call go back.
        for (const bucket of taken) bucket.tokens += 1;
        return { allowed: false, retryAfterMs: refusal, rule: compiled.rule };
      }
      taken.push(this.buckets.get(key)!);
    }
    return { allowed: true };
  }

  /** Takes one call from a rule's bucket; returns the retry delay when refused. */
  private async take(compiled: CompiledLimitRule, key: string): Promise<number | undefined> {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = { tokens: 0, expiresAt: 0, blockedUntil: 0, leasing: undefined };
      this.buckets.set(key, bucket);
    }
    for (;;) {
      const now = this.now();
      if (bucket.tokens > 0 && now < bucket.expiresAt) {
        bucket.tokens -= 1;
        return undefined;
      }
      if (now < bucket.blockedUntil) return bucket.blockedUntil - now;
      // One lease at a time per bucket; concurrent callers wait for it and then look again.
      bucket.leasing ??= this.lease(compiled.rule, key, bucket).finally(() => (bucket.leasing = undefined));
      // Then look again: the lease filled the bucket (or closed it); concurrent callers may have
      // spent it already, in which case the next turn leases again.
      await bucket.leasing;
    }
  }

  private async lease(rule: LimitRule, key: string, bucket: Bucket): Promise<void> {
    const rate: GcraRate = gcraRate(rule.count, rule.periodMs, rule.burst);
    const now = this.now();
    const take = await this.repository.lease(key, rate, Math.max(1, Math.ceil(rule.burst / 20)), now);
    if (take.granted > 0) {
      bucket.tokens = take.granted;
      bucket.expiresAt = now + this.lifetimeMs;
      bucket.blockedUntil = 0;
    } else {
      bucket.tokens = 0;
      bucket.blockedUntil = now + take.retryAfterMs;
    }
  }
}
