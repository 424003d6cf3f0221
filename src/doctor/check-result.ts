import { McpgwError, describeError } from "../errors.ts";

/**
 * ok: as it should be. warning: works, but worth a look (exit code stays 0). problem: something
 * is wrong (exit 1). skipped: could not be checked because an earlier check failed, or does not apply.
 */
export type CheckStatus = "ok" | "warning" | "problem" | "skipped";

/** One line of the doctor's report. */
export interface CheckResult {
  /** What was checked: "database", "backend github"… */
  check: string;
  status: CheckStatus;
  /** What was found; for a problem, what is wrong. */
  detail: string;
  /** For a problem or warning: what to do, usually the command that fixes it. */
  fix?: string;
}

export function ok(check: string, detail: string): CheckResult {
  return { check, status: "ok", detail };
}

export function warning(check: string, detail: string, fix?: string): CheckResult {
  return { check, status: "warning", detail, ...(fix !== undefined && { fix }) };
}

export function problem(check: string, detail: string, fix: string): CheckResult {
  return { check, status: "problem", detail, fix };
}

export function skipped(check: string, detail: string): CheckResult {
  return { check, status: "skipped", detail };
}

/** A problem from a thrown error: its message says what is wrong, its hint (or `fallbackFix`) what to do. */
export function problemFrom(check: string, err: unknown, fallbackFix: string): CheckResult {
  if (err instanceof McpgwError) return problem(check, err.message, err.hint ?? fallbackFix);
  return problem(check, describeError(err), fallbackFix);
}
