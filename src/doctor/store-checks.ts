import { activeKey } from "../auth/signing-key.ts";
import { type ProbeResult, probeBackend } from "../backends/backend-probe.ts";
import type { BackendSpec } from "../backends/backend-spec.ts";
import type { Settings } from "../config/settings.ts";
import type { SecretKeySettings } from "../config/secret-key-settings.ts";
import { checkSubjectSecretBackend } from "./secret-checks.ts";
import type { Logger } from "../log/logger.ts";
import type { Store } from "../store/store.ts";
import { type CheckResult, ok, problem, problemFrom, skipped, warning } from "./check-result.ts";
import { checkTokenExchange } from "./token-exchange-check.ts";

/** Backends probed at once: each may start a process. */
const PROBE_CONCURRENCY = 4;

/** The gateway's own signing keys: with authentication on, an active key must exist to issue and verify tokens. */
export async function checkSigningKeys(store: Store, settings: Settings): Promise<CheckResult> {
  if (settings.auth.mode === "off") return skipped("signing keys", "authentication is off: no tokens are checked");
  try {
    const keys = await store.signingKeys.list();
    const active = activeKey(keys);
    if (!active) {
      return problem(
        "signing keys",
        "there is no active signing key: mcpgw token issue has nothing to sign with and no token of the gateway's own verifies",
        "mcpgw key rotate (mcpgw init and the first serve also create one)",
      );
    }
    const verifying = keys.filter((key) => key.retiredAt === undefined).length;
    const detail = `active key ${active.kid} (${active.alg}); ${verifying} key${verifying === 1 ? "" : "s"} verifying`;
    if (active.alg !== settings.auth.signingAlg) {
      return warning(
        "signing keys",
        `${detail}; MCPGW_SIGNING_ALG asks for ${settings.auth.signingAlg}, but the active key is ${active.alg}`,
        "mcpgw key rotate (new keys use MCPGW_SIGNING_ALG)",
      );
    }
    return ok("signing keys", detail);
  } catch (err) {
    return problemFrom("signing keys", err, "check the database, then run mcpgw doctor again");
  }
}

export interface BackendCheckOptions {
  /** Where backends' ${VAR} references are resolved, as the gateway would. */
  environment: Record<string, string | undefined>;
  logger: Logger;
  clientVersion: string;
  /** The keys per-subject secrets are checked against. */
  secretKeys: SecretKeySettings;
}

/** Connects to every registered backend as the gateway would: initialise, list tools. One result per backend. */
export async function checkBackends(store: Store, options: BackendCheckOptions): Promise<CheckResult[]> {
  let backends: BackendSpec[];
  try {
    backends = await store.backends.list();
  } catch (err) {
    return [problemFrom("backends", err, "check the database, then run mcpgw doctor again")];
  }
  if (backends.length === 0) {
    return [
      warning("backends", "no backends are registered: the gateway has no tools to offer", 'mcpgw backend add NAME --command "CMD ARG..." (or --url URL)'),
    ];
  }
  return mapConcurrently(backends, PROBE_CONCURRENCY, async (spec) => {
    const check = `backend ${spec.name}`;
    if (spec.auth?.mode === "token-exchange") return checkTokenExchange(spec, spec.auth, check, options.environment);
    if (spec.auth?.mode === "per-subject-secret") return checkSubjectSecretBackend(store, spec, check, options.secretKeys);
    if (spec.auth) return checkPerCallerBackend(store, spec, check);
    try {
      const probe = await probeBackend(spec, { env: options.environment, logger: options.logger, clientVersion: options.clientVersion });
      return ok(check, describeProbe(probe));
    } catch (err) {
      return problemFrom(check, err, `mcpgw backend test ${spec.name} (for details), then fix or remove it: mcpgw backend remove ${spec.name}`);
    }
  });
}

/**
 * A per-caller backend is reached only as a caller, so it is not probed here: what is checked is
 * that the gateway can make its credential.
 */
async function checkPerCallerBackend(store: Store, spec: BackendSpec, check: string): Promise<CheckResult> {
  const howToProbe = `probe it as a caller: mcpgw call ${spec.name}/TOOL '{}' --as SUBJECT`;
  try {
    const key = activeKey(await store.signingKeys.list());
    if (!key) return problem(check, "gateway-assertion: there is no active signing key to sign assertions with", "mcpgw key rotate");
    return ok(check, `gateway-assertion: assertions are signed with key ${key.kid} (published at /.well-known/jwks.json); not probed: ${howToProbe}`);
  } catch (err) {
    return problemFrom(check, err, "check the database, then run mcpgw doctor again");
  }
}

function describeProbe(probe: ProbeResult): string {
  return `reachable over ${probe.transport}: ${probe.server.name} ${probe.server.version}, ${probe.tools.length} tool${probe.tools.length === 1 ? "" : "s"}, initialised in ${probe.connectMs} ms`;
}

/** Maps with at most `limit` calls in flight, keeping the order of `items`. */
async function mapConcurrently<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
