import type { AuditHealth } from "../audit/store-auditor.ts";
import { describeError } from "../errors.ts";
import type { Store } from "../store/store.ts";

/** Whatever reports the audit log's state (the store-backed auditor). */
export interface AuditHealthSource {
  health(): AuditHealth;
}

export type Readiness = { ready: true } | { ready: false; reason: string };

const PING_TIMEOUT_MS = 2_000;

/**
 * Ready when the database answers within a bound and has every migration this binary knows, and
 * the audit log can commit, or the gateway fails open (calls then proceed; the logs say so).
 */
export async function checkReadiness(store: Store, audit?: AuditHealthSource): Promise<Readiness> {
  const health = audit?.health();
  if (health && !health.available && !health.failOpen) {
    return { ready: false, reason: `the audit log cannot commit, so calls are refused (fail closed): ${health.reason ?? "unknown error"}` };
  }
  try {
    await withTimeout(store.ping(), PING_TIMEOUT_MS, `database did not answer within ${PING_TIMEOUT_MS}ms`);
    const status = await store.migrationStatus();
    if (status.pending.length > 0) {
      return { ready: false, reason: `database is missing migrations ${status.pending.join(", ")}: run mcpgw migrate` };
    }
    return { ready: true };
  } catch (err) {
    return { ready: false, reason: describeError(err) };
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
