/**
 * What the audit log must never hold: secrets in tool arguments and error messages. Built once
 * from the settings (the key list, the size cap); each call walks the value once.
 *
 * Two rules, both applied before a record is written:
 * - by key: an object key that contains a configured word (case-insensitive, ignoring `-`, `_`,
 *   `.` and spaces, so `api_key` also catches `x-api-key` and `githubApiKey`) has its whole value
 *   replaced, whatever its type. Substring matching over-redacts now and then (`max_tokens`
 *   contains "token"); the safe way round for an audit log.
 * - by value: strings anywhere (values, array items, error messages) are scrubbed of things that
 *   look like credentials whatever their key: bearer tokens, JWTs, PEM private keys, well-known
 *   API key formats, passwords in URLs, and `key=value` / `"key": "value"` pairs whose key is on the list.
 */

export const REDACTED = "[REDACTED]";

export interface RedactorOptions {
  /** Key words (see above); empty disables key-based redaction. */
  keys: readonly string[];
  /** Largest serialized arguments kept whole, in UTF-8 bytes; larger ones are truncated with their size noted. */
  maxArgumentBytes: number;
}

export interface Redactor {
  /** Arguments as the JSON text to store: redacted, then truncated to the cap. null for none. */
  arguments(value: unknown): string | null;
  /** A free-text field (error message, target) scrubbed of credential-looking values, at most `maxChars` long. */
  text(value: string, maxChars?: number): string;
}

/** Nesting deeper than this is not walked (a body of nested arrays must not exhaust the stack). */
const MAX_DEPTH = 64;

interface ValuePattern {
  name: string;
  pattern: RegExp;
  replacement: string;
}

/** Credential shapes recognised in any string. Order matters: a PEM block or bearer token is replaced whole before its parts could match. */
const VALUE_PATTERNS: ValuePattern[] = [
  // A PEM private key, to its END line (or to the end of the string when cut short).
  { name: "pem", pattern: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g, replacement: "[REDACTED private key]" },
  // "Bearer <token>"; 8+ characters so that prose ("bearer of news") survives.
  { name: "bearer", pattern: /\b(Bearer)\s+[A-Za-z0-9\-._~+/]{8,}=*/gi, replacement: `$1 ${REDACTED}` },
  // "Basic <base64>" with a base64 run long enough to be user:password.
  { name: "basic", pattern: /\b(Basic)\s+[A-Za-z0-9+/]{12,}={0,2}/g, replacement: `$1 ${REDACTED}` },
  // A JWT (JWS compact form): base64url header (always "eyJ", i.e. '{"'), payload, signature.
  { name: "jwt", pattern: /\beyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]*/g, replacement: "[REDACTED jwt]" },
  { name: "github", pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})/g, replacement: "[REDACTED github token]" },
  { name: "slack", pattern: /\bxox[abposr]-[A-Za-z0-9-]{10,}/g, replacement: "[REDACTED slack token]" },
  { name: "aws", pattern: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g, replacement: "[REDACTED aws key]" },
  { name: "sk", pattern: /\bsk-[A-Za-z0-9_-]{20,}/g, replacement: "[REDACTED api key]" },
  // scheme://user:password@host: the password only.
  { name: "url-password", pattern: /\b([a-z][a-z0-9+.-]{0,31}:\/\/[^\s:/@]+:)[^\s@/]+@/gi, replacement: `$1${REDACTED}@` },
];

/** Lower-case, without separators: "X-Api-Key" and "x_api_key" both become "xapikey". */
function normalizeKey(key: string): string {
  return key.toLowerCase().replace(/[-_.\s]/g, "");
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Builds a redactor; everything is compiled here, once. */
export function createRedactor(options: RedactorOptions): Redactor {
  const needles = [...new Set(options.keys.map(normalizeKey).filter((k) => k !== ""))];
  const patterns = [...VALUE_PATTERNS];
  if (needles.length > 0) {
    // key=value, key: value, "key": "value" inside free text (query strings, connection strings,
    // JSON carried in a string), keeping an auth scheme ("Authorization: Bearer …"). The match
    // starts at the key word (db_password= keeps "db_"), and every repetition is bounded by a
    // delimiter or a length: this runs on caller-controlled text, so it must stay linear.
    const words = options.keys
      .map((k) => k.trim())
      .filter((k) => k !== "")
      .map((k) => escapeRegExp(k).replace(/[-_]/g, "[-_]?"));
    patterns.push({
      name: "key-value",
      pattern: new RegExp(
        `((?:${words.join("|")})[A-Za-z0-9_-]{0,32}["']?[ \\t]{0,8}[:=][ \\t]{0,8}(?:(?:Bearer|Basic)[ \\t]+)?)("(?:[^"\\\\]|\\\\.)*"|'[^']*'|[^\\s&;,}"']+)`,
        "gi",
      ),
      replacement: `$1${REDACTED}`,
    });
  }
  // One cheap test first: most strings hold nothing that looks like a credential.
  const suspicious = new RegExp(patterns.map((p) => p.pattern.source).join("|"), "i");

  const keyCache = new Map<string, boolean>();
  const isSecretKey = (key: string): boolean => {
    let secret = keyCache.get(key);
    if (secret === undefined) {
      const normalized = normalizeKey(key);
      secret = needles.some((needle) => normalized.includes(needle));
      // Keys come from callers; bound the cache so arbitrary keys cannot grow it without end.
      if (keyCache.size < 10_000) keyCache.set(key, secret);
    }
    return secret;
  };

  const scrub = (text: string): string => {
    if (!suspicious.test(text)) return text;
    let out = text;
    for (const { pattern, replacement } of patterns) out = out.replace(pattern, replacement);
    return out;
  };

  const walk = (value: unknown, depth: number): unknown => {
    if (typeof value === "string") return scrub(value);
    if (value === null || typeof value !== "object") return value;
    if (depth >= MAX_DEPTH) return "[REDACTED: nested too deeply to inspect]";
    if (Array.isArray(value)) return value.map((item) => walk(item, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = isSecretKey(key) ? REDACTED : walk(item, depth + 1);
    return out;
  };

  return {
    arguments(value) {
      if (value === undefined) return null;
      const text = JSON.stringify(walk(value, 0)) ?? null;
      if (text === null) return null;
      return capJson(text, options.maxArgumentBytes);
    },
    text(value, maxChars = 2_048) {
      const scrubbed = scrub(value);
      return scrubbed.length > maxChars ? `${scrubbed.slice(0, maxChars)}… (${scrubbed.length} characters)` : scrubbed;
    },
  };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Serialized arguments over the cap become {"$truncated": {"bytes": N, "preview": "<start of the JSON>"}},
 * itself within the cap: the size of the original is kept, most of its content is not.
 */
export function capJson(text: string, maxBytes: number): string {
  // Fast path: a JS string's UTF-8 size is at most 3 bytes per UTF-16 unit.
  if (text.length * 3 <= maxBytes) return text;
  const bytes = encoder.encode(text);
  if (bytes.length <= maxBytes) return text;
  const envelope = (preview: string) => JSON.stringify({ $truncated: { bytes: bytes.length, preview } });
  // Room for the preview once the envelope and JSON escaping are paid for; shrink until it fits.
  let room = Math.max(0, maxBytes - envelope("").length);
  for (;;) {
    // Decoding a byte prefix drops a character cut in half (it becomes U+FFFD, removed here).
    const preview = decoder.decode(bytes.subarray(0, room)).replace(/\uFFFD$/, "");
    const capped = envelope(preview);
    if (encoder.encode(capped).length <= maxBytes || room === 0) return capped;
    room = Math.max(0, room - Math.max(16, Math.ceil((encoder.encode(capped).length - maxBytes) * 1.1)));
  }
}
