import { ConfigError } from "../errors.ts";

const UNITS = { b: 1, kb: 1_000, mb: 1_000_000, gb: 1_000_000_000, kib: 1_024, mib: 1_048_576, gib: 1_073_741_824 } as const;
const SIZE = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|kib|mib|gib)?$/i;

/** Parses "1048576", "512KiB", "1MiB", "10MB" into bytes. */
export function parseSize(text: string, what: string): number {
  const match = SIZE.exec(text.trim());
  const bytes = match ? Math.round(Number(match[1]) * UNITS[(match[2] ?? "b").toLowerCase() as keyof typeof UNITS]) : Number.NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 1)
    throw new ConfigError(`${what}: "${text}" is not a size`, "write bytes or a size with a unit, e.g. 1MiB, 512KiB, 10MB");
  return bytes;
}

/** 1048576 → "1 MiB". */
export function formatSize(bytes: number): string {
  if (bytes >= 1_048_576 && bytes % 1_048_576 === 0) return `${bytes / 1_048_576} MiB`;
  if (bytes >= 1_024 && bytes % 1_024 === 0) return `${bytes / 1_024} KiB`;
  return `${bytes} bytes`;
}
