import type { SecretKeySettings } from "../config/secret-key-settings.ts";
import type { BackendSpec } from "../backends/backend-spec.ts";
import type { Store } from "../store/store.ts";
import { type CheckResult, ok, problem, problemFrom, warning } from "./check-result.ts";

/**
 * A per-subject-secret backend: the key is set, and every stored secret for it is under a key the
 * gateway holds (a row under another key fails its subject's calls). Nothing is decrypted or shown.
 */
export async function checkSubjectSecretBackend(store: Store, spec: BackendSpec, check: string, keys: SecretKeySettings): Promise<CheckResult> {
  const set = `printf %s "$TOKEN" | mcpgw secret set ${spec.name} --sub SUBJECT`;
  try {
    const secrets = await store.subjectSecrets.list(spec.name);
    if (!keys.current) {
      return problem(
        check,
        `per-subject-secret: MCPGW_SECRET_KEY is not set, so the ${secrets.length} stored secret${secrets.length === 1 ? "" : "s"} cannot be decrypted and every call fails`,
        "set MCPGW_SECRET_KEY (or MCPGW_SECRET_KEY_FILE) to the key they were stored with; a new deployment makes one with: openssl rand -base64 32",
      );
    }
    const held = new Set([keys.current.id, ...(keys.previous ? [keys.previous.id] : [])]);
    const unreadable = secrets.filter((secret) => !held.has(secret.keyId));
    if (unreadable.length > 0) {
      const subjects = unreadable.map((secret) => `${secret.subject} (key ${secret.keyId})`).join(", ");
      return problem(
        check,
        `per-subject-secret: secrets under a key the gateway does not hold: ${subjects}`,
        "give that key as MCPGW_SECRET_KEY_OLD and run mcpgw secret rekey, or set those secrets again",
      );
    }
    const old = keys.previous ? secrets.filter((secret) => secret.keyId === keys.previous!.id).length : 0;
    if (old > 0) return warning(check, `per-subject-secret: ${old} secret${old === 1 ? " is" : "s are"} still under the old key`, "mcpgw secret rekey");
    if (secrets.length === 0) return warning(check, "per-subject-secret: no subject has a secret for it yet, so every call is refused", set);
    return ok(
      check,
      `per-subject-secret: ${secrets.length} subject${secrets.length === 1 ? " has a secret" : "s have secrets"}, under key ${keys.current.id}; not probed: probe it as a caller: mcpgw call ${spec.name}/TOOL '{}' --as SUBJECT`,
    );
  } catch (err) {
    return problemFrom(check, err, "check the database, then run mcpgw doctor again");
  }
}
