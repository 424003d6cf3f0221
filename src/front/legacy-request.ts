import type { Request } from "@modelcontextprotocol/sdk/types.js";
import { META } from "../protocol/modern.ts";

/** The `_meta` keys that describe a modern client to the gateway; a 2025-era backend is not told them. */
const MODERN_META_KEYS: ReadonlySet<string> = new Set([META.protocolVersion, META.clientCapabilities, META.clientInfo, META.logLevel]);

/**
 * The request as a 2025-era backend takes it: without the modern `_meta` keys (they describe the
 * client to the gateway, which is the backend's client) and without the 2025 `task` parameter,
 * which 2026-07-28 servers must ignore (tasks are an extension negotiated per request now).
 * Every modern call to a 2025-era backend passes here, so the copy is one plain loop over the
 * keys (a rest pattern with excluded keys cost more than the rest of this function).
 */
export function forLegacyBackend(request: Request): Request {
  const params = request.params as Record<string, unknown> | undefined;
  if (!params) return request;
  const copy: Record<string, unknown> = {};
  for (const key in params) {
    if (key === "task") continue;
    if (key !== "_meta") {
      copy[key] = params[key];
      continue;
    }
    const meta = params._meta as Record<string, unknown> | undefined;
    if (!meta) continue;
    let kept: Record<string, unknown> | undefined;
    for (const name in meta) {
      if (MODERN_META_KEYS.has(name)) continue;
      kept ??= {};
      kept[name] = meta[name];
    }
    if (kept) copy._meta = kept;
  }
  return { method: request.method, params: copy };
}
