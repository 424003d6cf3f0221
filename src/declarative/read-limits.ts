import { type LimitScope, assertToolPattern, parseRate } from "../limits/limit-rule.ts";
import { assertSubject } from "../policy/role-repository.ts";
import type { FieldReader } from "./document-fields.ts";
import type { DesiredLimit } from "./gateway-state.ts";

const LIMIT_FIELDS = ["id", "subject", "role", "global", "tool", "rate", "burst"] as const;
// Ids become counter keys ("<id>:<subject>"), so ":" is kept out of them.
const LIMIT_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** `--rate "x"` → `rate "x"`: limit-rule.ts speaks in the flags of `limit set`. */
const inDocumentTerms = (text: string) => text.replaceAll("--rate", "rate").replaceAll("--tool", "tool");

/**
 * The `limits:` section, with the fields of `mcpgw limit set`: exactly one of subject, role or
 * `global: true`; rate; optional tool and burst; and an optional id that names the rule.
 */
export function readLimits(reader: FieldReader, items: unknown[]): DesiredLimit[] {
  const limits: DesiredLimit[] = [];
  const ids = new Map<string, number>();
  items.forEach((item, index) => {
    const path = ["limits", index];
    const fields = reader.map(item, path, "a limit", LIMIT_FIELDS);
    if (!fields) return;
    const before = reader.problems.length;

    const id = reader.text(fields.id, [...path, "id"], "the limit id");
    if (id !== undefined && !LIMIT_ID.test(id)) {
      reader.report(
        [...path, "id"],
        `"${id}" is not a valid limit id`,
        "use 1-64 letters, digits, and _ . - (starting with a letter or digit), or leave id out to have one generated",
      );
    } else if (id !== undefined && ids.has(id)) {
      reader.report([...path, "id"], `limit id "${id}" is used twice (also limits[${ids.get(id)}])`, "give each rule its own id");
    } else if (id !== undefined) ids.set(id, index);

    const scopes = (["subject", "role", "global"] as const).filter((key) => fields[key] !== undefined);
    if (scopes.length !== 1) {
      reader.report(
        scopes.length === 0 ? path : [...path, scopes[1]!],
        scopes.length === 0 ? "a limit needs one of subject, role or global" : `a limit is for one of subject, role or global, not ${scopes.join(" and ")}`,
        "e.g. subject: alice   or   role: intern   or   global: true",
      );
    }
    let scope: LimitScope = "global";
    let scopeValue: string | undefined;
    if (fields.global !== undefined && fields.global !== true) {
      reader.report([...path, "global"], "global must be true", "write global: true for one budget shared by all callers, or use subject: or role: instead");
    } else if (fields.subject !== undefined) {
      scope = "subject";
      scopeValue = reader.text(fields.subject, [...path, "subject"], "the subject");
      if (scopeValue !== undefined) reader.valid([...path, "subject"], () => assertSubject(scopeValue!));
    } else if (fields.role !== undefined) {
      scope = "role";
      scopeValue = reader.text(fields.role, [...path, "role"], "the role");
    }

    const tool = reader.text(fields.tool, [...path, "tool"], "the tool pattern");
    if (tool !== undefined) reader.valid([...path, "tool"], () => assertToolPattern(tool), inDocumentTerms);
    const rateText = reader.text(fields.rate, [...path, "rate"], "rate", { required: true });
    const rate = rateText === undefined ? undefined : reader.check([...path, "rate"], () => parseRate(rateText), inDocumentTerms);
    const burst = readBurst(reader, fields.burst, [...path, "burst"], rate?.count);

    if (reader.problems.length > before || !rate || burst === undefined) return;
    limits.push({
      ...(id !== undefined && { id }),
      scope,
      ...(scopeValue !== undefined && { scopeValue }),
      ...(tool !== undefined && { toolPattern: tool }),
      count: rate.count,
      periodMs: rate.periodMs,
      burst,
    });
  });
  return limits;
}

/** burst: a whole number ≥ 1; the whole rate when absent (as `limit set` without --burst). */
function readBurst(reader: FieldReader, value: unknown, path: readonly (string | number)[], count: number | undefined): number | undefined {
  if (value === undefined) return count;
  const burst = typeof value === "string" && /^\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof burst === "number" && Number.isSafeInteger(burst) && burst >= 1) return burst;
  reader.report(path, `burst ${JSON.stringify(value)} is not a whole number ≥ 1`, "the burst is how many calls may come at once (default: the whole rate)");
  return undefined;
}
