import type { ServerCapabilities } from "@modelcontextprotocol/sdk/types.js";

type Feature = { listChanged?: boolean; subscribe?: boolean };

function mergeFeature(features: (Feature | undefined)[]): Feature | undefined {
  const present = features.filter((f): f is Feature => f !== undefined);
  if (present.length === 0) return undefined;
  const merged: Feature = {};
  if (present.some((f) => f.listChanged)) merged.listChanged = true;
  if (present.some((f) => f.subscribe)) merged.subscribe = true;
  return merged;
}

/**
 * What the gateway declares to a client: the union of its backends' capabilities. Logging is
 * always declared, because the gateway itself honours logging/setLevel (it filters per session).
 * Tasks are not declared yet: the gateway does not relay task-augmented requests (issue 7).
 */
export function mergeCapabilities(all: ServerCapabilities[]): ServerCapabilities {
  const merged: ServerCapabilities = { logging: {} };
  const tools = mergeFeature(all.map((c) => c.tools));
  const resources = mergeFeature(all.map((c) => c.resources));
  const prompts = mergeFeature(all.map((c) => c.prompts));
  if (tools) merged.tools = tools;
  if (resources) merged.resources = resources;
  if (prompts) merged.prompts = prompts;
  if (all.some((c) => c.completions)) merged.completions = {};
  const experimental = Object.assign({}, ...all.map((c) => c.experimental ?? {}));
  if (Object.keys(experimental).length > 0) merged.experimental = experimental;
  return merged;
}
