import type { BackendSpec } from "../backends/backend-spec.ts";
import { type PinPolicy, type PinRecord, defaultPinPolicy } from "../pinning/pin-record.ts";
import { type PinReview, needsReview, reviewOf } from "../pinning/pin-review.ts";
import type { BackendStore } from "./backend-service.ts";

/**
 * A backend's pinning as `mcpgw backend list|show` and the admin API (/v1/admin/backends) show it:
 * its modes, how many pins are in each state, how many carry suspicious text, and the
 * definitions a person should review. One view, so the CLI prints the same through either.
 */
export interface BackendPinState {
  pinMode: PinPolicy["pinMode"];
  driftMode: PinPolicy["driftMode"];
  suspicious: PinPolicy["suspicious"];
  /** Pins by status (pinned, drifted…), in the order the store lists them. */
  counts: Record<string, number>;
  /** Pins whose definition has suspicious text. */
  flagged: number;
  review: PinReview[];
}

export function pinState(policy: PinPolicy, records: readonly PinRecord[]): BackendPinState {
  const counts: Record<string, number> = {};
  for (const record of records) counts[record.status] = (counts[record.status] ?? 0) + 1;
  return {
    pinMode: policy.pinMode,
    driftMode: policy.driftMode,
    suspicious: policy.suspicious,
    counts,
    flagged: records.filter((record) => record.findings.length > 0).length,
    review: records.filter(needsReview).map(reviewOf),
  };
}

/** One backend's pin state. */
export async function backendPinState(store: Pick<BackendStore, "pins">, name: string): Promise<BackendPinState> {
  return pinState(await store.pins.policy(name), await store.pins.list(name));
}

/** Every registered backend with its pin state, in the store's order. */
export async function backendsWithPins(store: Pick<BackendStore, "pins" | "backends">): Promise<{ spec: BackendSpec; pins: BackendPinState }[]> {
  const [policies, records, backends] = await Promise.all([store.pins.policies(), store.pins.list(), store.backends.list()]);
  return backends.map((spec) => ({
    spec,
    pins: pinState(
      policies.find((p) => p.backend === spec.name) ?? defaultPinPolicy(spec.name),
      records.filter((r) => r.backend === spec.name),
    ),
  }));
}
