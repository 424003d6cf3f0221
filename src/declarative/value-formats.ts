/**
 * Values written back into a document exactly: every function here is the inverse of the parser
 * the CLI uses for that value (parseDuration, parseSize, splitCommandLine), so that an exported
 * document applies as a no-op. The display formatters round (1.5m, 12.35s) and would not.
 */

const DURATION_UNITS: readonly (readonly [string, number])[] = [
  ["h", 3_600_000],
  ["m", 60_000],
  ["s", 1_000],
];

/** 3600000 → "1h", 90000 → "90s", 12345 → "12345ms": the largest unit that divides exactly. */
export function exactDuration(ms: number): string {
  for (const [unit, size] of DURATION_UNITS) if (ms > 0 && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/** 4194304 → "4MiB", 1536 → "1536", 2048 → "2KiB": a binary unit when it divides exactly, else bytes. */
export function exactSize(bytes: number): string | number {
  if (bytes % 1_048_576 === 0) return `${bytes / 1_048_576}MiB`;
  if (bytes % 1_024 === 0) return `${bytes / 1_024}KiB`;
  return bytes;
}

/** A command word quoted so that splitCommandLine gives it back unchanged (POSIX single quotes). */
export function quoteCommandWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
