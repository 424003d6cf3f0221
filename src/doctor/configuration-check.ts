import { join } from "node:path";
import { DOTENV_FILE, processEnvironment, readEnv } from "../config/env.ts";
import { type FlagSettings, type Settings, resolveSettings } from "../config/settings.ts";
import { type CheckResult, ok, problemFrom, warning } from "./check-result.ts";

export interface ConfigurationOutcome {
  results: CheckResult[];
  /** Present when the settings resolved; the other checks need them. */
  settings?: Settings;
  /** The environment the gateway would have (the real one over .env): backends' ${VAR}s resolve from it. */
  environment?: Record<string, string | undefined>;
}

/**
 * Resolves the settings exactly as `serve` would (flags, then the environment over .env, then
 * defaults), reporting a malformed value as a problem rather than stopping; warns about settings
 * that are fine for development only.
 */
export function checkConfiguration(flags: FlagSettings, cwd: string, env: Record<string, string | undefined>): ConfigurationOutcome {
  let environment: Record<string, string | undefined>;
  let settings: Settings;
  try {
    environment = processEnvironment(cwd, env);
    settings = resolveSettings(flags, readEnv(environment));
  } catch (err) {
    return { results: [problemFrom("configuration", err, `fix the flag or the MCPGW_* variable (environment or ${join(cwd, DOTENV_FILE)})`)] };
  }
  const auth = settings.auth.mode === "off" ? "authentication OFF" : `authentication required (${authSources(settings)})`;
  const results: CheckResult[] = [
    ok(
      "configuration",
      `settings resolve: database ${settings.databaseUrl.startsWith("postgres") ? "PostgreSQL" : "SQLite"}, ${auth}, audit ${settings.audit.enabled ? "on" : "off"}`,
    ),
  ];
  if (settings.auth.mode === "off") {
    results.push(
      warning(
        "authentication",
        "MCPGW_AUTH=off: every caller is anonymous and policy is not enforced (development only)",
        "unset MCPGW_AUTH (or set it to required) before the gateway is reachable by anyone",
      ),
    );
  }
  if (!settings.audit.enabled) {
    results.push(warning("audit", "MCPGW_AUDIT=off: calls are not recorded (development and benchmarks only)", "unset MCPGW_AUDIT (or set it to on)"));
  }
  return { results, settings, environment };
}

function authSources(settings: Settings): string {
  return [
    "gateway keys",
    ...(settings.auth.sharedSecret ? ["shared secret"] : []),
    ...(settings.auth.external ? [`identity provider ${settings.auth.external.issuer}`] : []),
  ].join(", ");
}
