import { describe, expect, test } from "vitest";
import { JSON_BUDGET_DEFAULTS, MAX_NUMBER_CHARS, exceedsJsonBudget } from "./json-budget.ts";

const budget = { maxDepth: 4, maxItems: 20 };
const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);

describe("the JSON budget", () => {
  test("depth: the bound itself passes, one more level is refused, arrays and objects alike", () => {
    expect(exceedsJsonBudget(nested(4), budget)).toBeUndefined();
    expect(exceedsJsonBudget(nested(5), budget)).toMatchObject({ bound: "depth", problem: "the message nests deeper than 4 levels" });
    expect(exceedsJsonBudget('{"a":{"b":{"c":{"d":1}}}}', budget)).toBeUndefined();
    expect(exceedsJsonBudget('{"a":{"b":{"c":{"d":{"e":1}}}}}', budget)?.bound).toBe("depth");
  });

  test("depth goes down again: siblings do not add up", () => {
    expect(exceedsJsonBudget(`[${nested(3)},${nested(3)},${nested(3)}]`, budget)).toBeUndefined();
  });

  test("items: values, keys and escape sequences are counted", () => {
    expect(exceedsJsonBudget(`[${Array(19).fill(0).join(",")}]`, budget)).toBeUndefined();
    expect(exceedsJsonBudget(`[${Array(21).fill(0).join(",")}]`, budget)?.bound).toBe("items");
    // 10 members: 10 keys and 10 values.
    const members = (n: number) => `{${Array.from({ length: n }, (_, i) => `"k${i}":0`).join(",")}}`;
    expect(exceedsJsonBudget(members(5), budget)).toBeUndefined();
    expect(exceedsJsonBudget(members(11), budget)?.bound).toBe("items");
    expect(exceedsJsonBudget(`"${"\\n".repeat(19)}"`, budget)).toBeUndefined();
    expect(exceedsJsonBudget(`"${"\\u0041".repeat(21)}"`, budget)?.bound).toBe("items");
  });

  test("brackets, commas and colons inside strings are text, not structure", () => {
    const text = JSON.stringify({ s: "[[[[[[[[[[,,,,,,,,,,,,,,,,,,,,,::::::::::::{{{{{{{{{" });
    expect(exceedsJsonBudget(text, budget)).toBeUndefined();
    // An escaped quote does not end the string.
    expect(exceedsJsonBudget(JSON.stringify({ s: '\\"[[[[[[[[' }), budget)).toBeUndefined();
  });

  test("strings with escapes and strings without, in any order, are read alike", () => {
    // Strings without an escape are skipped with indexOf; a later one's escapes are still counted.
    const afterPlain = (escapes: number) => `["plain [[[[[ text",${JSON.stringify("\n".repeat(escapes))}]`;
    expect(exceedsJsonBudget(afterPlain(18), budget)).toBeUndefined();
    expect(exceedsJsonBudget(afterPlain(19), budget)?.bound).toBe("items");
    // An escaped quote followed by brackets, then a plain string of brackets: both are text.
    expect(exceedsJsonBudget('["x\\"[[[[[[", "[[[[[[", {"k":"\\\\"}, "]]]]]]"]', budget)).toBeUndefined();
    expect(exceedsJsonBudget('["x\\"", [[[[[0]]]]]]', budget)?.bound).toBe("depth");
  });

  test("numbers: a literal longer than the bound is refused, a long string of digits is not", () => {
    expect(exceedsJsonBudget(`[${"9".repeat(MAX_NUMBER_CHARS)}]`, budget)).toBeUndefined();
    expect(exceedsJsonBudget(`[${"9".repeat(MAX_NUMBER_CHARS + 1)}]`, budget)).toMatchObject({ bound: "number" });
    expect(exceedsJsonBudget(`[1e${"9".repeat(MAX_NUMBER_CHARS)}]`, budget)?.bound).toBe("number");
    expect(exceedsJsonBudget(`["${"9".repeat(10 * MAX_NUMBER_CHARS)}"]`, budget)).toBeUndefined();
  });

  test("the top-level id and method are named in a refusal, wherever they stand, but never a nested one", () => {
    const deep = nested(10);
    expect(exceedsJsonBudget(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":${deep}}`, budget)).toMatchObject({ id: 7, method: "tools/call" });
    expect(exceedsJsonBudget(`{"id":"req-1","method":"x","params":${deep}}`, budget)).toMatchObject({ id: "req-1", method: "x" });
    // The scan stops at the excess: fields after it are not seen.
    const late = exceedsJsonBudget(`{"params":${deep},"id":7}`, budget);
    expect(late?.id).toBeUndefined();
    const nestedId = exceedsJsonBudget(`{"params":{"id":99,"method":"inner","x":${deep}}}`, budget);
    expect(nestedId?.id).toBeUndefined();
    expect(nestedId?.method).toBeUndefined();
  });

  test("malformed text does not throw and stays linear", () => {
    for (const text of ['"unterminated', '{"id":"unterminated', "]]]]]", "\\\\\\", '{"id":', "{:::}"]) {
      expect(() => exceedsJsonBudget(text, budget)).not.toThrow();
    }
    const started = performance.now();
    exceedsJsonBudget(`"${"\\".repeat(2_000_000)}`, JSON_BUDGET_DEFAULTS);
    exceedsJsonBudget("]".repeat(2_000_000), JSON_BUDGET_DEFAULTS);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  test("a usual tools/call is within the defaults", () => {
    const call = {
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: "echo", arguments: { text: 'hi "there"\n', n: -1.5e-3, list: [1, 2, { a: null }] } },
    };
    expect(exceedsJsonBudget(JSON.stringify(call), JSON_BUDGET_DEFAULTS)).toBeUndefined();
  });
});
