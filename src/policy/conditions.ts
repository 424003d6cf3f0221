import { assertNever } from "../assert-never.ts";
import type { Condition } from "./permission.ts";

/**
 * Whether a call's arguments satisfy every condition of a rule. A missing argument, or one that
 * is not a string or number, fails. Prefix conditions (^=) also fail when the value has a ".."
 * path segment or a NUL: "/srv/data/../etc/passwd" must not pass [path^="/srv/data/"].
 */
export function conditionsHold(conditions: readonly Condition[], args: unknown): boolean {
  if (conditions.length === 0) return true;
  if (typeof args !== "object" || args === null) return false;
  for (const condition of conditions) {
    const raw = (args as Record<string, unknown>)[condition.arg];
    if (typeof raw !== "string" && typeof raw !== "number") return false;
    const value = String(raw);
    switch (condition.op) {
      case "=":
        if (value !== condition.value) return false;
        break;
      case "!=":
        if (value === condition.value) return false;
        break;
      case "^=":
        if (!value.startsWith(condition.value) || /(^|[/\\])\.\.([/\\]|$)/.test(value) || value.includes("\0")) return false;
        break;
      case "$=":
        if (!value.endsWith(condition.value)) return false;
        break;
      case "*=":
        if (!value.includes(condition.value)) return false;
        break;
      default:
        return assertNever(condition.op);
    }
  }
  return true;
}
