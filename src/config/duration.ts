import { ConfigError } from "../errors.ts";

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000, day: 86_400_000 } as const;
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d|day)?$/;

/** Parses "250ms", "30s", "5m", "1h", "7d" (a bare number is seconds) into milliseconds. */
export function parseDuration(text: string, what: string): number {
  const match = DURATION.exec(text.trim());
  if (!match) {
    throw new ConfigError(`${what}: "${text}" is not a duration`, 'use a number with a unit, e.g. "500ms", "30s", "5m", "1h" or "7d"');
  }
  const unit = (match[2] ?? "s") as keyof typeof UNIT_MS;
  return Math.round(Number(match[1]) * UNIT_MS[unit]);
}

/** Formats milliseconds the way people write them: 30000 → "30s", 90000 → "1.5m". */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${ms}ms`;
  if (ms < 60_000) return `${+(ms / 1_000).toFixed(2)}s`;
  if (ms < 3_600_000) return `${+(ms / 60_000).toFixed(2)}m`;
  if (ms < 86_400_000) return `${+(ms / 3_600_000).toFixed(2)}h`;
  return `${+(ms / 86_400_000).toFixed(2)}d`;
}
