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
 * Tasks are declared when the gateway runs jobs: it runs any tool as a task itself (src/jobs/), so
 * the backends' own tasks capabilities are not what the client sees.
 */
export function mergeCapabilities(all: ServerCapabilities[], gatewayTasks?: ServerCapabilities["tasks"]): ServerCapabilities {
  const merged: ServerCapabilities = { logging: {} };
  if (gatewayTasks) merged.tasks = gatewayTasks;
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

/** The instructions of several backends behind one endpoint: each under a heading with its name; none when none has any. */
export function mergeInstructions(backends: readonly { name: string; instructions?: string | undefined }[]): string | undefined {
  return (
    backends
      .filter((b) => b.instructions)
      .map((b) => `## ${b.name}\n${b.instructions}`)
      .join("\n\n") || undefined
  );
}
