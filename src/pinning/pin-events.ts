import type { Auditor } from "../audit/auditor.ts";
import { describeError } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import type { PinPolicy, PinTransition } from "./pin-record.ts";

/** Audit methods of pinning events (mcpgw audit tail --tool 'pins/*' is not a tool pattern; filter on the method). */
export const PIN_AUDIT = { pin: "pins/pin", drift: "pins/drift", approve: "pins/approve" } as const;

/** What a transition means, for people: the log line and the audit record's message. */
export function describeTransition(t: PinTransition): string {
  const what = `${t.kind} "${t.name}" of backend "${t.backend}"`;
  const found = t.findings.length > 0 ? ` (suspicious text: ${t.findings.map((f) => `${f.kind} in ${f.where}`).join("; ")})` : "";
  switch (t.to) {
    case "pinned":
      return t.from === "none" ? `${what} pinned on first use${found}` : `${what} is back to its pinned definition`;
    case "changed":
      return `${what} changed from its pinned definition${found}`;
    case "added":
      return `${what} appeared and is not pinned${found}`;
    case "removed":
      return `${what} was removed by the backend`;
  }
}

/**
 * Audits and logs the pin transitions this replica recorded. The store hands each transition to one
 * replica only, so each change is audited once however many gateways saw it.
 */
export function reportPinTransitions(auditor: Auditor, logger: Logger): (transitions: PinTransition[], policy: PinPolicy) => void {
  return (transitions, policy) => {
    const firstUse = transitions.filter((t) => t.from === "none" && t.to === "pinned");
    const drift = transitions.filter((t) => !(t.from === "none" && t.to === "pinned"));
    const write = (context: Parameters<Auditor["record"]>[0], outcome: Parameters<Auditor["record"]>[1]) =>
      void auditor.record(context, outcome).catch((err) => logger.error({ err: describeError(err), method: context.method }, "pin event not audited"));
    if (firstUse.length > 0) {
      // Logged, not audited: trusting a backend's first listing is the configured default, not an
      // event, and the audit log stays a record of calls and of changes (drift, approvals).
      const { backend, kind } = firstUse[0]!;
      logger.info(
        { backend, kind, pinned: firstUse.length, withFindings: firstUse.filter((t) => t.findings.length > 0).map((t) => t.name), pinMode: policy.pinMode },
        "definitions pinned on first use",
      );
    }
    for (const t of drift) {
      const message = describeTransition(t);
      const held = t.to !== "pinned" && t.to !== "removed" && policy.driftMode === "block";
      if (t.to === "pinned") logger.info({ backend: t.backend, kind: t.kind, name: t.name }, message);
      else logger.warn({ backend: t.backend, kind: t.kind, name: t.name, status: t.to, driftMode: policy.driftMode, findings: t.findings }, message);
      write(
        {
          backend: t.backend,
          target: t.name,
          method: PIN_AUDIT.drift,
          arguments: { kind: t.kind, from: t.from, to: t.to, ...(t.hash && { hash: t.hash }), findings: t.findings },
        },
        { status: held ? "denied" : "ok", decision: t.to, rule: `drift mode ${policy.driftMode}`, errorMessage: message },
      );
    }
  };
}
