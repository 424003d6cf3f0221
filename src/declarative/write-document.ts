import { Document, Scalar, isSeq, parse, visit } from "yaml";
import { formatRate } from "../limits/limit-rule.ts";
import type { LimitRule } from "../limits/limit-rule.ts";
import { formatPermission } from "../policy/permission.ts";
import type { RoleDefinition } from "../policy/policy.ts";
import type { DeclaredBackend, GatewayState, RoleBinding } from "./gateway-state.ts";
import { DOCUMENT_VERSION } from "./read-document.ts";
import { exactDuration, exactSize, quoteCommandWord } from "./value-formats.ts";

/**
 * The state as a document that `mcpgw apply` reads back to exactly this state: every section
 * present (so applying it also deletes what was added since), values in the forms the readers
 * parse exactly, stable order (roles, grants and backends by name, limits in `limit list` order,
 * env and header names sorted). Secrets are written as stored: ${VAR} references or literals.
 */
export function writeDocument(state: GatewayState): string {
  const document = new Document({
    version: DOCUMENT_VERSION,
    roles: state.roles.map(roleEntry),
    bindings: bindingEntries(state.bindings),
    backends: state.backends.map(backendEntry),
    limits: state.limits.map(limitEntry),
  });
  document.commentBefore = " mcpgw configuration: apply with mcpgw apply -f FILE (see docs/declarative.md)";
  const bindings = bindingEntries(state.bindings);
  // Subjects read best on one line: subjects: [alice, bob].
  for (let i = 0; i < bindings.length; i++) {
    const subjects = document.getIn(["bindings", i, "subjects"], true);
    if (isSeq(subjects)) subjects.flow = true;
  }
  // The yaml package quotes what YAML 1.2 would misread; YAML 1.1 readers (PyYAML, older yq)
  // would also take yes, on, 1:20 or 2001-12-14 for something other than text.
  visit(document, {
    Scalar(_key, node) {
      if (typeof node.value === "string" && readsAsOtherThanText(node.value)) node.type = Scalar.QUOTE_DOUBLE;
    },
  });
  return document.toString({ lineWidth: 0, flowCollectionPadding: false });
}

function readsAsOtherThanText(value: string): boolean {
  try {
    return typeof parse(value, { version: "1.1" }) !== "string";
  } catch {
    return false;
  }
}

function roleEntry(role: RoleDefinition) {
  return {
    name: role.name,
    ...(role.description !== undefined && { description: role.description }),
    permissions: role.rules.map((rule) => ({ [rule.effect]: formatPermission(rule.permission) })),
  };
}

function bindingEntries(bindings: RoleBinding[]) {
  const byRole = new Map<string, string[]>();
  for (const { role, subject } of bindings) byRole.set(role, [...(byRole.get(role) ?? []), subject]);
  return [...byRole].map(([role, subjects]) => ({ role, subjects }));
}

function backendEntry(spec: DeclaredBackend) {
  const limits = spec.limits ?? {};
  const limitEntries = {
    ...(limits.maxConcurrency !== undefined && { maxConcurrency: limits.maxConcurrency }),
    ...(limits.maxQueue !== undefined && { maxQueue: limits.maxQueue }),
    ...(limits.maxBodyBytes !== undefined && { maxBody: exactSize(limits.maxBodyBytes) }),
    ...(limits.maxResponseBytes !== undefined && { maxResponse: exactSize(limits.maxResponseBytes) }),
    ...(limits.maxProcesses !== undefined && { maxProcesses: limits.maxProcesses }),
  };
  return {
    name: spec.name,
    ...(spec.url !== undefined ? { url: spec.url, transport: spec.transport } : { command: (spec.command ?? []).map(quoteCommandWord).join(" ") }),
    ...(Object.keys(spec.env).length > 0 && { env: sortedEntries(spec.env) }),
    ...(Object.keys(spec.headers).length > 0 && { headers: sortedEntries(spec.headers) }),
    timeout: exactDuration(spec.timeoutMs),
    ...(Object.keys(limitEntries).length > 0 && { limits: limitEntries }),
    ...(spec.idempotentTools && spec.idempotentTools.length > 0 && { idempotentTools: spec.idempotentTools }),
    ...(spec.auth && { auth: spec.auth }),
    // Every mode, so that applying the export sets them back (a document that leaves one out leaves it alone).
    ...(spec.pinning && { pinning: spec.pinning }),
  };
}

function limitEntry(rule: LimitRule) {
  return {
    id: rule.id,
    ...(rule.scope === "global" ? { global: true } : { [rule.scope]: rule.scopeValue }),
    ...(rule.toolPattern !== undefined && { tool: rule.toolPattern }),
    rate: formatRate(rule),
    // The default burst is the whole rate, as with `limit set` without --burst.
    ...(rule.burst !== rule.count && { burst: rule.burst }),
  };
}

function sortedEntries(values: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
