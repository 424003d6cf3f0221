/**
 * Whether a URI could be an expansion of an RFC 6570 URI template (resources/templates/list), for
 * refusing resources/read through a template the pins hold back. Each expression becomes the
 * pattern of what its operator may expand to (an undefined variable expands to nothing), so a
 * match is "this template can produce this URI", not a parse of its variables.
 */
const OPERATOR_PATTERN: Record<string, string> = {
  // Simple expansion percent-encodes reserved characters: a value holds no / ? #.
  "": "[^/?#]*",
  // Reserved and fragment expansion keep reserved characters: anything up to the fragment, or anything.
  "+": "[^#]*",
  "#": "(?:#.*)?",
  ".": "(?:\\.[^/?#]*)*",
  "/": "(?:/[^/?#]*)*",
  ";": "(?:;[^/?#]*)*",
  "?": "(?:\\?[^#]*)?",
  "&": "(?:&[^#]*)*",
};

const CACHE_LIMIT = 1_000;
const compiled = new Map<string, RegExp | null>();

/** The template as a regular expression over whole URIs; null when it is not a valid template (then it matches nothing). */
function compile(template: string): RegExp | null {
  let source = "^";
  let at = 0;
  while (at < template.length) {
    const open = template.indexOf("{", at);
    const literal = open < 0 ? template.slice(at) : template.slice(at, open);
    if (literal.includes("}")) return null;
    source += literal.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    if (open < 0) break;
    const close = template.indexOf("}", open);
    if (close < 0) return null;
    const expression = template.slice(open + 1, close);
    const first = expression.charAt(0);
    const operator = first !== "" && first in OPERATOR_PATTERN ? first : "";
    if (expression.length === operator.length) return null;
    source += OPERATOR_PATTERN[operator];
    at = close + 1;
  }
  return new RegExp(`${source}$`, "s");
}

/** Whether `uri` is something `template` can expand to. Compiled templates are cached (a backend lists few). */
export function matchesUriTemplate(template: string, uri: string): boolean {
  let pattern = compiled.get(template);
  if (pattern === undefined) {
    if (compiled.size >= CACHE_LIMIT) compiled.clear();
    pattern = compile(template);
    compiled.set(template, pattern);
  }
  return pattern?.test(uri) === true;
}
