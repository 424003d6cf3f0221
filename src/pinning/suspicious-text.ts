import type { Finding } from "./pin-record.ts";

/**
 * What tool-poisoning attacks put in definitions: hidden Unicode (tag characters, which smuggle
 * ASCII a person does not see; bidi controls, which reorder what is shown; zero-width characters),
 * instructions addressed to the model, mentions of other tools, and talk of secrets. A finding is a
 * reason to look, not proof: `mcpgw backend diff` and `show` print them, and a backend's
 * `--suspicious block` keeps such definitions from models until a person approves them.
 */
const HIDDEN = /[\u{E0000}-\u{E007F}\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C\u200B-\u200D\u2060\uFEFF\u180E]/u;
const HIDDEN_ALL = new RegExp(HIDDEN.source, "gu");

const MODEL_INSTRUCTIONS: RegExp[] = [
  /\b(ignore|disregard|forget)\s+(all\s+|any\s+)?(the\s+)?(previous|prior|above|earlier|other)\s+(instructions?|prompts?|rules|directions)/i,
  /\bdo\s+not\s+(tell|inform|mention|reveal|show)\b[^.]{0,60}\b(user|human|operator)/i,
  /<\s*\/?\s*(important|system|instructions?|secret)\s*>/i,
  /\b(you|the\s+(assistant|model|ai|agent))\s+(must|should|are\s+required\s+to)\s+(always|first|also|never|now)\b/i,
  /\bbefore\s+(using|calling|invoking)\s+(this|any)\s+tool\b/i,
  /\b(system\s+prompt|new\s+instructions?)\b/i,
];

const SECRETS =
  /\b(api[\s_-]?keys?|passwords?|passphrases?|secret\s+keys?|private\s+keys?|credentials?|access\s+tokens?|bearer\s+tokens?|ssh\s+keys?|id_rsa|aws_secret\w*)\b|(^|[\s/~"'`])\.(env|ssh|aws|netrc)\b/i;

/** The text fields whose words are read for instructions, tools and secrets (every string is read for hidden characters). */
const PROSE_KEYS = new Set(["description", "title"]);

/**
 * The findings in a definition. `otherNames`: the other names the backend lists, whose mention
 * in a description is how one tool's text steers the use of another ("shadowing").
 */
export function findSuspicious(definition: Record<string, unknown>, otherNames: readonly string[] = []): Finding[] {
  const findings: Finding[] = [];
  const others = otherNames.filter((name) => name.length >= 3 && name !== definition.name);
  walk(definition, "", (where, text, prose) => {
    const hidden = describeHidden(text);
    if (hidden) findings.push({ kind: "hidden-unicode", where, detail: hidden });
    if (!prose) return;
    for (const pattern of MODEL_INSTRUCTIONS) {
      const match = pattern.exec(text);
      if (match) {
        findings.push({ kind: "model-instruction", where, detail: `"${match[0]}"` });
        break;
      }
    }
    const mentioned = others.filter((name) => new RegExp(`(^|[^A-Za-z0-9_-])${escapeRegExp(name)}($|[^A-Za-z0-9_-])`).test(text));
    if (mentioned.length > 0) findings.push({ kind: "other-tool", where, detail: mentioned.map((name) => `"${name}"`).join(", ") });
    const secret = SECRETS.exec(text);
    if (secret) findings.push({ kind: "secrets", where, detail: `"${secret[0].trim()}"` });
  });
  return findings;
}

/** Calls visit for every string (keys included, for hidden characters), with its path and whether it is prose. */
function walk(value: unknown, path: string, visit: (where: string, text: string, prose: boolean) => void): void {
  if (typeof value === "string") {
    const last = path.slice(path.lastIndexOf(".") + 1);
    visit(path || "(value)", value, PROSE_KEYS.has(last));
    return;
  }
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) walk(item, `${path}[${i}]`, visit);
    return;
  }
  if (value === null || typeof value !== "object") return;
  for (const [key, item] of Object.entries(value)) {
    const where = path ? `${path}.${key}` : key;
    if (HIDDEN.test(key)) visit(`${where} (key)`, key, false);
    walk(item, where, visit);
  }
}

/** "3 tag characters (hidden text: \"…\"), U+200B": what is hidden, readable. */
function describeHidden(text: string): string | undefined {
  if (!HIDDEN.test(text)) return undefined;
  let tags = "";
  let tagCount = 0;
  const others = new Set<string>();
  for (const [char] of text.matchAll(HIDDEN_ALL)) {
    const code = char.codePointAt(0)!;
    if (code >= 0xe0000 && code <= 0xe007f) {
      tagCount += 1;
      // Tag characters U+E0020…U+E007E mirror printable ASCII: the text a model reads and a person does not see.
      if (code >= 0xe0020 && code <= 0xe007e) tags += String.fromCharCode(code - 0xe0000);
    } else {
      others.add(`U+${code.toString(16).toUpperCase().padStart(4, "0")}`);
    }
  }
  const parts: string[] = [];
  if (tagCount > 0) parts.push(`${tagCount} tag character${tagCount === 1 ? "" : "s"}${tags ? ` (hidden text: ${JSON.stringify(tags.slice(0, 200))})` : ""}`);
  if (others.size > 0) parts.push(`invisible or bidi control characters ${[...others].join(", ")}`);
  return parts.join("; ");
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
