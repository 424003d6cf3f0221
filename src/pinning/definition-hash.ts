import { createHash } from "node:crypto";
import type { ObservedDefinition, PinKind } from "./pin-record.ts";
import { findSuspicious } from "./suspicious-text.ts";

/**
 * The fields of a listed item that make up its pinned definition: what a model reads and what the
 * call takes. Anything else (`_meta`, `icons`, `execution`) may change without drift.
 */
const PINNED_FIELDS = {
  tool: ["name", "title", "description", "inputSchema", "outputSchema", "annotations"],
  prompt: ["name", "title", "description", "arguments"],
  resourceTemplate: ["name", "title", "description", "uriTemplate", "mimeType", "annotations"],
} as const satisfies Record<PinKind, readonly string[]>;

/** The list method whose answer holds each kind, the key of its items, and the notification that says it changed. */
export const LISTS = {
  tool: { method: "tools/list", key: "tools", changed: "notifications/tools/list_changed" },
  prompt: { method: "prompts/list", key: "prompts", changed: "notifications/prompts/list_changed" },
  resourceTemplate: { method: "resources/templates/list", key: "resourceTemplates", changed: "notifications/resources/list_changed" },
} as const satisfies Record<PinKind, { method: string; key: string; changed: string }>;

/** The kind a list method lists (undefined for any other method). */
export function kindOfList(method: string): PinKind | undefined {
  if (method === "tools/list") return "tool";
  if (method === "prompts/list") return "prompt";
  if (method === "resources/templates/list") return "resourceTemplate";
  return undefined;
}

/** The pinned part of a listed item. */
export function pinnedDefinition(kind: PinKind, item: Record<string, unknown>): Record<string, unknown> {
  const definition: Record<string, unknown> = {};
  for (const field of PINNED_FIELDS[kind]) if (item[field] !== undefined) definition[field] = item[field];
  return definition;
}

/** JSON with object keys sorted at every depth, so equal definitions hash alike whatever order the backend wrote them in. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

/** The SHA-256 (hex) of a definition's canonical JSON. */
export function definitionHash(definition: Record<string, unknown>): string {
  return createHash("sha256").update(canonicalJson(definition)).digest("hex");
}

/** A listed item as it is pinned: its name, pinned definition, hash and suspicious-text findings (`names`: the others listed with it). */
export function describeDefinition(kind: PinKind, item: Record<string, unknown>, names: readonly string[]): ObservedDefinition {
  const definition = pinnedDefinition(kind, item);
  return { name: String(item.name ?? item.uriTemplate), hash: definitionHash(definition), definition, findings: findSuspicious(definition, names) };
}
