/**
 * GCRA (the generic cell rate algorithm), the token bucket written as one timestamp: `tat`, the
 * theoretical arrival time of the next call. A rule of `count` calls per `periodMs` with `burst`
 * has emission interval T = periodMs / count; a call at `now` fits while tat - now ≤ (burst - 1)·T.
 */
export interface GcraRate {
  /** Emission interval T in ms: one call's worth of time. */
  intervalMs: number;
  burst: number;
}

export interface GcraTake {
  /** Calls granted (0 … want). */
  granted: number;
  /** The new TAT to store (unchanged when nothing was granted). */
  tat: number;
  /** When nothing was granted: ms until one call would fit. */
  retryAfterMs: number;
}

/** Takes up to `want` calls' worth at `now` from a bucket whose state is `tat`. */
export function gcraTake(tat: number, now: number, rate: GcraRate, want: number): GcraTake {
  const base = Math.max(tat, now);
  // How many calls fit now: each advances the TAT by T, and the TAT may run at most burst·T ahead of now.
  const room = Math.floor((now + rate.burst * rate.intervalMs - base) / rate.intervalMs + 1e-9);
  const granted = Math.max(0, Math.min(want, room));
  if (granted === 0) return { granted: 0, tat, retryAfterMs: Math.max(1, Math.ceil(base + rate.intervalMs - rate.burst * rate.intervalMs - now)) };
  return { granted, tat: base + granted * rate.intervalMs, retryAfterMs: 0 };
}

/** The rate of `count` calls per `periodMs`, with a burst (default: the whole count at once). */
export function gcraRate(count: number, periodMs: number, burst = count): GcraRate {
  return { intervalMs: periodMs / count, burst };
}
