import { ConfigError, UsageError } from "../errors.ts";

/**
 * `.env` files: `KEY=VALUE` lines, `#` comments, an optional `export ` prefix, values bare,
 * 'single-' or "double-quoted". The rules follow Bun's own loader, which also reads `.env` at
 * start-up, so a file means the same whichever of the two read it: `$VAR` and `${VAR}` expand
 * (from the environment, then from earlier lines), `\$` is a literal dollar, a bare value ends at
 * `#`, and `\n` in double quotes is a newline.
 */
export function parseDotenv(text: string, source: string, env: Record<string, string | undefined> = {}): Record<string, string> {
  return parseDotenvLines(text, source, env).values;
}

/** parseDotenv, and the line (1-based) each key was last set on, so that a bad value can be pointed at. */
export function parseDotenvLines(
  text: string,
  source: string,
  env: Record<string, string | undefined> = {},
): { values: Record<string, string>; lines: Record<string, number> } {
  const values: Record<string, string> = {};
  const numbers: Record<string, number> = {};
  const lines = text.split(/\r?\n/);
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
    if (!match) {
      throw new ConfigError(`${source}, line ${index + 1}: "${truncate(line)}" is not KEY=VALUE`, `fix or remove that line (comments start with #)`);
    }
    const [, key, rest] = match as unknown as [string, string, string];
    numbers[key] = index + 1;
    const expand = (value: string) => expandVariables(value, (name) => env[name] ?? values[name] ?? "");
    const quote = rest[0];
    if (quote === '"' || quote === "'") {
      const end = closingQuote(rest, quote);
      if (end < 0)
        throw new ConfigError(
          `${source}, line ${index + 1}: the ${quote === '"' ? "double" : "single"} quote after ${key}= is never closed`,
          `close it on the same line`,
        );
      const inner = rest.slice(1, end);
      values[key] = expand(quote === '"' ? inner.replaceAll("\\n", "\n") : inner);
    } else {
      const hash = rest.indexOf("#");
      values[key] = expand((hash < 0 ? rest : rest.slice(0, hash)).trim());
    }
  }
  return { values, lines: numbers };
}

/** Characters a bare value may hold and be read back unchanged (no `#`, `$`, quotes, spaces or backslashes). */
const BARE_VALUE = /^[A-Za-z0-9_@%+=:,./?&~-]*$/;

/**
 * One `KEY=VALUE` line that parseDotenv and Bun's loader both read back as exactly `value`: bare
 * when it is plain, else double-quoted with `$` escaped. A value with a quote, backslash or line
 * break has no such form, so it is refused rather than written wrongly.
 */
export function formatDotenvLine(key: string, value: string): string {
  if (BARE_VALUE.test(value)) return `${key}=${value}`;
  if (/["\\\r\n\u0000-\u001f\u007f]/.test(value)) {
    throw new UsageError(
      `the value of ${key} holds a quote, backslash or control character, which a .env file cannot carry unchanged`,
      'percent-encode those characters (a database URL may: %22 for ", %5C for \\)',
    );
  }
  return `${key}="${value.replaceAll("$", "\\$")}"`;
}

/** Replaces $NAME and ${NAME}; `\$` stays a literal dollar. */
function expandVariables(value: string, lookup: (name: string) => string): string {
  return value.replace(/\\\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (all, braced?: string, bare?: string) => {
    if (all === "\\$") return "$";
    return lookup((braced ?? bare)!);
  });
}

/** Index of the quote closing the one at 0, skipping backslash-escaped ones; -1 when there is none. */
function closingQuote(text: string, quote: string): number {
  for (let i = 1; i < text.length; i++) {
    if (text[i] === "\\") i++;
    else if (text[i] === quote) return i;
  }
  return -1;
}

function truncate(text: string, max = 60): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
