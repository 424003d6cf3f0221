/**
 * What a JSON message may cost beyond its size. A body within the byte limit can still be far
 * more work than its bytes suggest: 100,000 nested arrays are 200 KB, parse in 15 ms, and then
 * overflow the stack in every recursive walk after (JSON.stringify to the backend took 600 ms
 * to fail, and the event loop with it). So the text is measured before it is parsed, in one
 * linear pass that allocates nothing, and refused when it exceeds the budget:
 * - depth: arrays and objects nested deeper than `maxDepth`;
 * - items: more than `maxItems` values, keys and string escape sequences in all (each is work
 *   for the parser, the redactor and every re-encoding on the way to the backend; an object
 *   member counts twice, its key and its value);
 * - a number literal longer than MAX_NUMBER_CHARS (no double needs more; such a literal is
 *   either an attack or a value that parsing would silently round or turn into Infinity).
 */
export interface JsonBudget {
  maxDepth: number;
  maxItems: number;
}

export const JSON_BUDGET_DEFAULTS: JsonBudget = { maxDepth: 64, maxItems: 100_000 };

/**
 * What a backend's message may cost beyond its size. Results may rightly hold many items (the
 * byte cap bounds those), but nesting is capped: a deeply nested answer would overflow the stack
 * of every walk after it (re-encoding it for the client, for one), blocking the event loop. The
 * bound is far above any real result and far below the stack's reach.
 */
export const BACKEND_JSON_BUDGET: JsonBudget = { maxDepth: 512, maxItems: Number.POSITIVE_INFINITY };

/** Longest number literal accepted: a double's 17 significant digits, sign, point and exponent fit many times over. */
export const MAX_NUMBER_CHARS = 100;

/** Why a text was refused, with the top-level `id` and `method` when the scan saw them (for the error and the audit). */
export interface JsonBudgetExcess {
  /** Which bound was passed. */
  bound: "depth" | "items" | "number";
  problem: string;
  id?: string | number;
  method?: string;
}

const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const COLON = 58;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;

function isNumberChar(c: number): boolean {
  // 0-9 + - . e E
  return (c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46 || c === 101 || c === 69;
}

/** Largest top-level id or method kept from a refused message (only to name it in the error). */
const MAX_CAPTURED = 200;

/** What the caller (or the operator) can do about each bound of the JSON budget. */
export const BUDGET_HINTS = {
  depth: " (the bound is MCPGW_MAX_JSON_DEPTH)",
  items: " (the bound is MCPGW_MAX_JSON_ITEMS)",
  number: "",
} satisfies Record<JsonBudgetExcess["bound"], string>;

/**
 * Measures `text` against the budget; undefined when it is within it. Malformed JSON is not this
 * function's concern (JSON.parse reports it after): the scan only needs to stay linear whatever
 * the input, and to stop as soon as a bound is passed.
 */
export function exceedsJsonBudget(text: string, budget: JsonBudget): JsonBudgetExcess | undefined {
  const { maxDepth, maxItems } = budget;
  const length = text.length;
  let depth = 0;
  let items = 0;
  // The top-level object's keys are watched for "id" and "method" (cheaply: only at depth 1).
  let expectKey = false;
  let pendingKey: "id" | "method" | undefined;
  let id: string | number | undefined;
  let method: string | undefined;
  const excess = (bound: JsonBudgetExcess["bound"], problem: string): JsonBudgetExcess => ({
    bound,
    problem,
    ...(id !== undefined && { id }),
    ...(method !== undefined && { method }),
  });
  // The next quote and the next backslash at or after the scan's position, found with indexOf
  // (native, many times faster per character than a loop here: most of a message's characters
  // are inside strings). A string without an escape is skipped at once; one with escapes is read
  // character by character, as escape-dense text is read faster that way than by an indexOf per
  // escape. Each position is searched for again only once the scan has passed it, so the scan
  // stays linear.
  let quote = -1;
  let backslash = -1;
  let i = 0;
  while (i < length) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const start = i;
      i++;
      if (quote < i) quote = indexOr(text, '"', i, length);
      if (backslash < i) backslash = indexOr(text, "\\", i, length);
      if (backslash > quote) {
        i = quote;
      } else {
        while (i < length) {
          const s = text.charCodeAt(i);
          if (s === QUOTE) break;
          if (s === BACKSLASH) {
            if (++items > maxItems) return excess("items", tooManyItems(maxItems));
            i += 2;
          } else {
            i++;
          }
        }
      }
      i++;
      if (depth === 1) {
        if (expectKey) {
          const key = text.slice(start + 1, i - 1);
          pendingKey = key === "id" ? "id" : key === "method" ? "method" : undefined;
          expectKey = false;
        } else if (pendingKey !== undefined) {
          const value = i - start <= MAX_CAPTURED ? parsedString(text.slice(start, i)) : undefined;
          if (pendingKey === "id") id = value;
          else method = value;
          pendingKey = undefined;
        }
      }
      continue;
    }
    if (isNumberChar(c)) {
      const start = i;
      while (i < length && isNumberChar(text.charCodeAt(i))) i++;
      if (i - start > MAX_NUMBER_CHARS) {
        return excess(
          "number",
          `a number in the message is ${i - start} characters long, over the ${MAX_NUMBER_CHARS} accepted (send long numbers as strings)`,
        );
      }
      if (depth === 1 && pendingKey === "id") {
        const value = Number(text.slice(start, i));
        if (Number.isSafeInteger(value)) id = value;
      }
      pendingKey = undefined;
      continue;
    }
    switch (c) {
      case OPEN_BRACE:
      case OPEN_BRACKET:
        if (++depth > maxDepth) return excess("depth", `the message nests deeper than ${maxDepth} levels`);
        if (++items > maxItems) return excess("items", tooManyItems(maxItems));
        expectKey = depth === 1 && c === OPEN_BRACE;
        pendingKey = undefined;
        break;
      case CLOSE_BRACE:
      case CLOSE_BRACKET:
        depth--;
        break;
      case COMMA:
        if (++items > maxItems) return excess("items", tooManyItems(maxItems));
        if (depth === 1) expectKey = true;
        pendingKey = undefined;
        break;
      case COLON:
        if (++items > maxItems) return excess("items", tooManyItems(maxItems));
        break;
      default:
        // whitespace, true/false/null: nothing to count
        if (c > 32) pendingKey = undefined;
    }
    i++;
  }
  return undefined;
}

/** The position of `search` in `text` at or after `from`; `length` when there is none. */
function indexOr(text: string, search: string, from: number, length: number): number {
  const found = text.indexOf(search, from);
  return found === -1 ? length : found;
}

function parsedString(literal: string): string | undefined {
  try {
    return JSON.parse(literal) as string;
  } catch {
    return undefined;
  }
}

function tooManyItems(maxItems: number): string {
  return `the message holds more than ${maxItems} values, keys and escape sequences`;
}
