import type { Request } from "@modelcontextprotocol/sdk/types.js";
import { META } from "../protocol/modern.ts";

/** The `_meta` keys that describe a modern client to the gateway; a 2025-era backend is not told them. */
const MODERN_META_KEYS: readonly string[] = [META.protocolVersion, META.clientCapabilities, META.clientInfo, META.logLevel];

/**
 * The request as a 2025-era backend takes it: without the modern `_meta` keys (they describe the
 * client to the gateway, which is the backend's client) and without the 2025 `task` parameter,
 * which 2026-07-28 servers must ignore (tasks are an extension negotiated per request now).
 */
export function forLegacyBackend(request: Request): Request {
  const params = request.params as (Record<string, unknown> & { _meta?: Record<string, unknown> }) | undefined;
  if (!params) return request;
  const { task: _ignored, _meta, ...rest } = params;
  if (!_meta) return { method: request.method, params: rest };
  let kept: Record<string, unknown> | undefined;
  for (const key in _meta) {
    if (MODERN_META_KEYS.includes(key)) continue;
    kept ??= {};
    kept[key] = _meta[key];
  }
  return { method: request.method, params: kept ? { ...rest, _meta: kept } : rest };
}
