import { UsageError } from "../errors.ts";

/** Where a value sits in the document: keys and list indexes from the root. */
export type Path = readonly (string | number)[];

/** 1-based line and column in the document's text. */
export interface Position {
  line: number;
  col: number;
}

/** One thing wrong with a document. */
export interface Problem {
  /** The field at fault; absent for syntax errors, which carry a position instead. */
  path?: Path;
  /** Point at the key of `path` (an unknown field) rather than at its value. */
  at?: "key";
  position?: Position;
  message: string;
  hint?: string;
}

/** `roles[1].permissions[0].allow`; keys that are not plain words are quoted: `headers["X Y"]`. */
export function formatPath(path: Path): string {
  let text = "";
  for (const segment of path) {
    if (typeof segment === "number") text += `[${segment}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(segment)) text += text === "" ? segment : `.${segment}`;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text;
}

/**
 * A document with one or more problems: nothing was applied. The message lists every problem as
 * `FILE:LINE:COL: PATH: what is wrong`, in document order, each with what to do under it.
 */
export class DocumentInvalidError extends UsageError {
  readonly problems: readonly Problem[];

  constructor(
    readonly file: string,
    problems: readonly Problem[],
  ) {
    const sorted = [...problems].sort((a, b) => (a.position?.line ?? 0) - (b.position?.line ?? 0) || (a.position?.col ?? 0) - (b.position?.col ?? 0));
    const lines = sorted.map((problem) => {
      const where = problem.position ? `${file}:${problem.position.line}:${problem.position.col}` : file;
      const field = problem.path && problem.path.length > 0 ? `${formatPath(problem.path)}: ` : "";
      return `${where}: ${field}${problem.message}${problem.hint ? `\n  → ${problem.hint}` : ""}`;
    });
    const count = problems.length === 1 ? "1 error" : `${problems.length} errors`;
    super(
      `${file} is not valid (${count}); nothing was applied\n${lines.join("\n")}`,
      "fix the document and run again (mcpgw apply --dry-run checks a document without changing anything)",
    );
    this.problems = sorted;
  }
}
