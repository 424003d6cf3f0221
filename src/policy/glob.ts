/**
 * Glob to RegExp: `*` matches any run of characters (including none), `?` exactly one; every
 * other character is literal. Anchored at both ends. Built once per rule, when policy changes.
 */
export function globToRegExp(glob: string): RegExp {
  let source = "";
  for (const char of glob) {
    if (char === "*") source += "[\\s\\S]*";
    else if (char === "?") source += "[\\s\\S]";
    else source += char.replace(/[.+^${}()|[\]\\/-]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}
