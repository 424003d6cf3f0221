import { LineCounter, type Node, type ParsedNode, isAlias, isMap, isScalar, isSeq, parseDocument } from "yaml";
import type { Path, Position, Problem } from "./problems.ts";

/** A parsed YAML text that can say where any path in it is. */
export interface YamlSource {
  /** The document as plain data (maps become objects); undefined when there are syntax errors. */
  value: unknown;
  /** Syntax errors, with positions; when any, `value` is not to be trusted. */
  syntaxProblems: Problem[];
  /** Where `path` is written; the deepest existing ancestor when the path itself is missing (a missing field). */
  locate(path: Path, at?: "key"): Position | undefined;
}

// Hints for the YAML mistakes operators make most; the parser's own message says what it saw.
const SYNTAX_HINTS: Record<string, string> = {
  BAD_ALIAS: 'a value starting with * is read as a YAML alias: quote it, e.g. allow: "*"',
  UNRESOLVED_ALIAS: 'a value starting with * is read as a YAML alias: quote it, e.g. allow: "*"',
  DUPLICATE_KEY: "give each field once",
  TAB_AS_INDENT: "indent with spaces, not tabs",
  MULTIPLE_DOCS: "keep one document per file (no --- separator)",
};

/**
 * Parses YAML with the `yaml` package, which (unlike Bun.YAML) reports duplicate keys and keeps
 * the source range of every node: validation errors can then name the line of the field at fault.
 */
export function parseYamlSource(text: string): YamlSource {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const position = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, col };
  };
  const syntaxProblems: Problem[] = document.errors.map((error) => ({
    position: position(error.pos[0]),
    message: `YAML syntax: ${error.message}`,
    ...(SYNTAX_HINTS[error.code] !== undefined && { hint: SYNTAX_HINTS[error.code] }),
  }));
  return {
    value: syntaxProblems.length > 0 ? undefined : document.toJS({ maxAliasCount: 100 }),
    syntaxProblems,
    locate(path, at) {
      let node: Node | null = document.contents;
      let key: Node | undefined;
      let found = node;
      let complete = true;
      for (const segment of path) {
        if (isAlias(node)) node = (node.resolve(document) as Node | undefined) ?? null;
        if (isMap(node)) {
          const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
          if (!pair) {
            complete = false;
            break;
          }
          key = pair.key as Node;
          // `name:` with nothing after it has no value node: the key is where it is written.
          node = (pair.value as Node | null) ?? key;
        } else if (isSeq(node) && typeof segment === "number" && node.items[segment] !== undefined) {
          key = undefined;
          node = node.items[segment] as Node;
        } else {
          complete = false;
          break;
        }
        found = node;
      }
      const target = at === "key" && complete && key ? key : found;
      const range = (target as ParsedNode | null)?.range;
      return range ? position(range[0]) : undefined;
    },
  };
}
