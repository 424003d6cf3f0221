import { UsageError } from "../errors.ts";
import { globToRegExp } from "./glob.ts";

/** What a permission is about: tools (the default kind), resources, prompts, any other method, or the admin API. */
export const TARGET_KINDS = ["tool", "resource", "prompt", "method", "admin"] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

/**
 * The admin API's permissions (`admin:read`, `admin:write`; `admin:*` is both). They name no
 * backend: an admin rule is stored with backend "*" and the permission as its name, and is asked
 * about with ADMIN_BACKEND, which only such a rule's "*" matches among admin rules.
 */
export const ADMIN_PERMISSIONS = ["read", "write"] as const;
export type AdminPermission = (typeof ADMIN_PERMISSIONS)[number];
export const ADMIN_BACKEND = "gateway";

export type ConditionOp = "=" | "!=" | "^=" | "$=" | "*=";
export const CONDITION_OPS: readonly ConditionOp[] = ["^=", "$=", "*=", "!=", "="];

/** One argument condition: `[path^="/srv/data/"]`. */
export interface Condition {
  arg: string;
  op: ConditionOp;
  value: string;
}

/** A parsed permission pattern: `[kind:]BACKEND-GLOB/NAME-GLOB[cond]...`. */
export interface Permission {
  kind: TargetKind;
  backend: string;
  name: string;
  conditions: Condition[];
}

const SYNTAX_HINT =
  'write BACKEND/TOOL (globs: github/*, */read_*, *), resource:BACKEND/URI-GLOB, prompt:BACKEND/NAME-GLOB or method:BACKEND/METHOD-GLOB, optionally followed by argument conditions like [path^="/srv/data/"]; or admin:read, admin:write, admin:* for the admin API';
const ADMIN_HINT = "the admin permissions are admin:read (read routes of /v1/admin), admin:write (changing routes) and admin:* (both)";
const CONDITION = /^\[\s*([A-Za-z_][\w.-]*)\s*(\^=|\$=|\*=|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|([^\]\s]*))\s*\]/;

/** Parses the text of an --allow/--deny pattern; UsageError (saying the syntax) when malformed. */
export function parsePermission(text: string): Permission {
  let rest = text.trim();
  if (rest.startsWith("admin:")) return parseAdminPermission(text, rest.slice("admin:".length));
  let kind: TargetKind = "tool";
  const prefix = /^(tool|resource|prompt|method):/.exec(rest);
  if (prefix) {
    kind = prefix[1] as TargetKind;
    rest = rest.slice(prefix[0].length);
  }
  // Conditions are a suffix of [..] groups; a URI glob may itself contain "[", so take them from the end.
  const conditions: Condition[] = [];
  const firstBracket = findConditionStart(rest);
  let conditionText = firstBracket < 0 ? "" : rest.slice(firstBracket);
  rest = firstBracket < 0 ? rest : rest.slice(0, firstBracket);
  while (conditionText.trim() !== "") {
    const match = CONDITION.exec(conditionText.trim());
    if (!match)
      throw new UsageError(
        `permission "${text}": cannot read the condition "${conditionText.trim()}"`,
        `conditions look like [arg^="prefix"], with one of ${CONDITION_OPS.join(" ")}`,
      );
    conditions.push({ arg: match[1]!, op: match[2] as ConditionOp, value: match[3] !== undefined ? match[3].replace(/\\(.)/g, "$1") : match[4]! });
    conditionText = conditionText.trim().slice(match[0].length);
  }
  // Tool, prompt and method names cannot contain "[" (MCP names are [A-Za-z0-9_.-]): one left over is a malformed condition.
  if (kind !== "resource" && rest.includes("[")) {
    throw new UsageError(
      `permission "${text}": cannot read the condition "${rest.slice(rest.indexOf("["))}${conditionText}"`,
      `conditions look like [arg^="prefix"], with one of ${CONDITION_OPS.join(" ")}`,
    );
  }
  if (rest === "*") return { kind, backend: "*", name: "*", conditions };
  const slash = rest.indexOf("/");
  if (slash <= 0 || slash === rest.length - 1) throw new UsageError(`permission "${text}" is not BACKEND/NAME`, SYNTAX_HINT);
  return { kind, backend: rest.slice(0, slash), name: rest.slice(slash + 1), conditions };
}

/** `admin:read`, `admin:write`, or a glob over them (`admin:*`); no backend, no conditions. */
function parseAdminPermission(text: string, name: string): Permission {
  if (name.includes("[")) throw new UsageError(`permission "${text}": admin permissions take no argument conditions`, ADMIN_HINT);
  if (!/^[a-z*?]+$/.test(name) || !ADMIN_PERMISSIONS.some((permission) => globToRegExp(name).test(permission)))
    throw new UsageError(`permission "${text}" names no admin permission`, ADMIN_HINT);
  return { kind: "admin", backend: "*", name, conditions: [] };
}

function findConditionStart(text: string): number {
  // The conditions start at the first "[" followed only by well-formed [..] groups up to the end.
  for (let at = text.indexOf("["); at >= 0; at = text.indexOf("[", at + 1)) {
    let tail = text.slice(at).trim();
    let ok = true;
    while (tail !== "") {
      const match = CONDITION.exec(tail);
      if (!match) {
        ok = false;
        break;
      }
      tail = tail.slice(match[0].length).trim();
    }
    if (ok) return at;
  }
  // A "[" that starts no well-formed condition group: report it if it looks meant as one.
  return /\[[^\]]*=[^\]]*\]\s*$/.test(text) ? text.lastIndexOf("[") : -1;
}

/** The pattern as an operator writes it (round-trips through parsePermission). */
export function formatPermission(permission: Permission): string {
  if (permission.kind === "admin") return `admin:${permission.name}`;
  const prefix = permission.kind === "tool" ? "" : `${permission.kind}:`;
  const base = permission.backend === "*" && permission.name === "*" ? "*" : `${permission.backend}/${permission.name}`;
  const conditions = permission.conditions.map((c) => `[${c.arg}${c.op}"${c.value.replace(/(["\\])/g, "\\$1")}"]`).join("");
  return `${prefix}${base}${conditions}`;
}
