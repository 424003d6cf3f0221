import { parseDuration } from "../config/duration.ts";
import { ConfigError, UsageError } from "../errors.ts";

const DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * A point in time given on the command line: a duration ago ("15m", "7d") or a date
 * ("2025-01-31", "2025-01-31T12:00:00Z"; a date without a zone is UTC). UsageError otherwise.
 */
export function parseTimeBound(text: string, flag: string, now: number): number {
  const value = text.trim();
  if (DATE.test(value)) {
    // Date-only strings parse as UTC; date-times without a zone would be local: make them UTC too.
    const withZone = value.length > 10 && !/(Z|[+-]\d{2}:?\d{2})$/.test(value) ? `${value.replace(" ", "T")}Z` : value.replace(" ", "T");
    const ms = Date.parse(withZone);
    if (!Number.isNaN(ms)) return ms;
  }
  try {
    return now - parseDuration(value, flag);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new UsageError(
      `${flag}: "${text}" is neither a duration nor a date`,
      "use a duration such as 15m, 24h or 30d, or a date such as 2025-01-31 or 2025-01-31T12:00:00Z",
    );
  }
}
