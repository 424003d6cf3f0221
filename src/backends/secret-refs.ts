import { McpgwError } from "../errors.ts";

/**
 * Backend header and env values may hold `${NAME}` references, so that a secret lives in the
 * gateway's environment (a Kubernetes Secret, a vault agent) and never in the database.
 * References are resolved only when a backend is connected.
 */
const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * A value that may be shown as is: references only, optionally after one short scheme word
 * (`${TOKEN}`, `Bearer ${API_KEY}`). Anything else may be or contain a literal secret.
 */
const SHOWABLE = /^(?:[A-Za-z][A-Za-z0-9-]{0,15} )?(?:\$\{[A-Za-z_][A-Za-z0-9_]*\})+$/;

export const REDACTED = "***";

/** Where the values come from, for error messages. */
export interface SecretRefOwner {
  backend: string;
  kind: "header" | "env" | "flag";
}

/**
 * Substitutes every `${NAME}` in the values from `env`. A reference to a variable that is unset
 * or empty is an error naming the backend, the key and the variable: an empty secret is never
 * what the operator meant, and failing here beats a confusing 401 from the backend.
 */
export function resolveSecretRefs(values: Record<string, string>, env: Record<string, string | undefined>, what: SecretRefOwner): Record<string, string> {
  const resolved: Record<string, string> = {};
  const missing: { key: string; variable: string }[] = [];
  for (const [key, value] of Object.entries(values)) {
    resolved[key] = value.replace(REFERENCE, (reference, variable: string) => {
      const found = env[variable];
      if (found === undefined || found === "") {
        missing.push({ key, variable });
        return reference;
      }
      return found;
    });
  }
  if (missing.length > 0) throw missingVariablesError(missing, what);
  return resolved;
}

/** The values safe to print: references and a scheme word are kept, everything else becomes `***`. */
export function redactSecrets(values: Record<string, string>): Record<string, string> {
  const shown: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) shown[key] = SHOWABLE.test(value) ? value : REDACTED;
  return shown;
}

/** Whether any value would be redacted, i.e. is stored as a literal rather than a `${VAR}` reference. */
export function hasLiteralSecrets(values: Record<string, string>): boolean {
  return Object.values(values).some((value) => !SHOWABLE.test(value));
}

function missingVariablesError(missing: { key: string; variable: string }[], what: SecretRefOwner): McpgwError {
  const uses = missing.map(({ key, variable }) => `${what.kind} "${key}" uses \${${variable}}`).join(", ");
  const variables = [...new Set(missing.map((m) => m.variable))];
  const plural = variables.length > 1;
  return new McpgwError(
    `backend "${what.backend}": ${uses}, but ${variables.join(", ")} ${plural ? "are" : "is"} not set in mcpgw's environment`,
    `set ${variables.join(" and ")} in the environment of mcpgw serve (and of this shell for mcpgw backend test), e.g. export ${variables[0]}=…`,
  );
}

/** A backend URL safe to print: a password in it (https://user:pass@host) is replaced by `***`. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === "") return url;
    parsed.password = REDACTED;
    return parsed.href;
  } catch {
    return REDACTED;
  }
}
