import { canonicalJson } from "./definition-hash.ts";

/** One difference between two definitions, at a JSON path ("inputSchema.properties.path.type"). */
export interface PathChange {
  path: string;
  change: "added" | "removed" | "changed";
  before?: unknown;
  after?: unknown;
}

/** The top-level fields that differ ("description", "inputSchema"): what a refusal names. */
export function changedFields(before: Record<string, unknown> | undefined, after: Record<string, unknown> | undefined): string[] {
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]);
  return [...keys].filter((key) => canonicalJson(before?.[key]) !== canonicalJson(after?.[key])).sort();
}

/** Every path where two JSON values differ; objects are compared key by key, arrays and scalars whole. */
export function pathDiff(before: unknown, after: unknown, path = ""): PathChange[] {
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((key) => pathDiff(before[key], after[key], path ? `${path}.${key}` : key));
  }
  if (canonicalJson(before) === canonicalJson(after)) return [];
  if (before === undefined) return [{ path: path || "(root)", change: "added", after }];
  if (after === undefined) return [{ path: path || "(root)", change: "removed", before }];
  return [{ path: path || "(root)", change: "changed", before, after }];
}

/**
 * A word diff of two texts, as `git diff --word-diff` prints it: [-removed-]{+added+}. Characters a
 * terminal would not show (tag characters, bidi controls, zero-width) are written as \u{…}.
 */
export function wordDiff(before: string, after: string): string {
  const a = tokens(visible(before));
  const b = tokens(visible(after));
  // Longest common subsequence over words: descriptions are short, so the quadratic table is small.
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--)
    for (let j = b.length - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  let out = "";
  let removed = "";
  let added = "";
  const flush = () => {
    if (removed) out += `[-${removed}-]`;
    if (added) out += `{+${added}+}`;
    removed = added = "";
  };
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      flush();
      out += a[i];
      i++;
      j++;
    } else if (j < b.length && (i >= a.length || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) added += b[j++];
    else removed += a[i++];
  }
  flush();
  return out;
}

const INVISIBLE = /[\u{E0000}-\u{E007F}\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C\u200B-\u200D\u2060\uFEFF\u180E]/gu;

/** The text with invisible characters written out as \u{…}. */
export function visible(text: string): string {
  return text.replace(INVISIBLE, (char) => `\\u{${char.codePointAt(0)!.toString(16).toUpperCase()}}`);
}

function tokens(text: string): string[] {
  return text.match(/\s+|[^\s]+/g) ?? [];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
