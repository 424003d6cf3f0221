import { McpgwError } from "../errors.ts";
import type { Path, Problem } from "./problems.ts";

/**
 * Typed reads of a parsed document that record a problem and go on, rather than throwing: the
 * whole document is checked in one pass, so a person sees every mistake at once.
 */
export class FieldReader {
  readonly problems: Problem[] = [];

  report(path: Path, message: string, hint?: string, at?: "key"): void {
    this.problems.push({ path, message, ...(hint !== undefined && { hint }), ...(at && { at }) });
  }

  /**
   * A mapping with only the given fields: an unknown one (a typo such as `alow`) is a problem,
   * reported at its key with the field it probably meant.
   */
  map(value: unknown, path: Path, what: string, fields: readonly string[]): Record<string, unknown> | undefined {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      this.report(path, `${what} must be a mapping (field: value lines), not ${describe(value)}`, `fields: ${fields.join(", ")}`);
      return undefined;
    }
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (fields.includes(key)) continue;
      const near = fields.find((field) => editDistance(field, key) <= 2);
      this.report(
        [...path, key],
        `unknown field "${key}" in ${what}`,
        near ? `did you mean "${near}"? (fields of ${what}: ${fields.join(", ")})` : `fields of ${what}: ${fields.join(", ")}`,
        "key",
      );
    }
    return record;
  }

  /** A list (YAML sequence); a missing one is `fallback`. */
  list(value: unknown, path: Path, what: string, fallback?: unknown[]): unknown[] | undefined {
    if (value === undefined && fallback) return fallback;
    if (Array.isArray(value)) return value;
    this.report(path, `${what} must be a list (lines starting with "- "), not ${describe(value)}`);
    return undefined;
  }

  /** Text. A number or a boolean is refused, not converted: YAML reads 007 as 7 and yes-like words vary. */
  text(value: unknown, path: Path, what: string, options: { required?: boolean } = {}): string | undefined {
    if (typeof value === "string") return value;
    if (value === undefined || value === null) {
      if (options.required) this.report(path, `${what} is required`);
      return undefined;
    }
    this.report(
      path,
      `${what} must be text, not ${describe(value)}`,
      typeof value === "number" || typeof value === "boolean" ? `quote it: "${String(value)}"` : undefined,
    );
    return undefined;
  }

  /** Text or a number, as a flag would take it: "30s" or 30 (seconds), "4MiB" or 4194304. */
  textOrNumber(value: unknown, path: Path, what: string): string | undefined {
    if (typeof value === "number") return String(value);
    return this.text(value, path, what);
  }

  /** A mapping of text to text (env, headers). */
  textMap(value: unknown, path: Path, what: string): Record<string, string> | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      this.report(path, `${what} must be a mapping of names to values, not ${describe(value)}`);
      return undefined;
    }
    const result: Record<string, string> = {};
    for (const [key, item] of Object.entries(value)) {
      const text = this.text(item, [...path, key], `${what} ${key}`);
      if (text !== undefined) result[key] = text;
    }
    return result;
  }

  /**
   * Runs one of the validators the CLI uses (they throw errors that speak in flags) and turns its
   * error into a problem at `path` (or at the path the message points to). Returns undefined when it failed.
   */
  check<T>(path: Path | ((message: string) => Path), validate: () => T, rewrite?: (text: string) => string, hint?: string): T | undefined {
    const outcome = this.attempt(path, validate, rewrite, hint);
    return outcome.ok ? outcome.value : undefined;
  }

  /** Like check, for validators that return nothing: whether the value passed. */
  valid(path: Path, validate: () => void, rewrite?: (text: string) => string): boolean {
    return this.attempt(path, validate, rewrite).ok;
  }

  private attempt<T>(
    path: Path | ((message: string) => Path),
    validate: () => T,
    rewrite: (text: string) => string = (text) => text,
    hint?: string,
  ): { ok: true; value: T } | { ok: false } {
    try {
      return { ok: true, value: validate() };
    } catch (err) {
      // Usage and config errors are the operator's input; anything else is a bug and propagates.
      if (!(err instanceof McpgwError) || err.exitCode !== 2) throw err;
      this.report(
        typeof path === "function" ? path(err.message) : path,
        rewrite(err.message),
        hint ?? (err.hint === undefined ? undefined : rewrite(err.hint)),
      );
      return { ok: false };
    }
  }
}

/** "the number 7", "a list", "nothing": what was found instead. */
export function describe(value: unknown): string {
  if (value === null || value === undefined) return "nothing";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return `the text ${JSON.stringify(value)}`;
  return `the ${typeof value} ${String(value)}`;
}

/** Levenshtein distance, for "did you mean" on field names (a handful of short words). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]!;
}
