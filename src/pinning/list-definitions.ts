import type { Request, Result, ServerCapabilities } from "@modelcontextprotocol/sdk/types.js";
import { LISTS } from "./definition-hash.ts";
import { PIN_KINDS, type PinKind } from "./pin-record.ts";

const MAX_PAGES = 50;

/** The kinds of definitions a backend serves, by its capabilities (resource templates come with resources). */
export function servedKinds(capabilities: ServerCapabilities): PinKind[] {
  return PIN_KINDS.filter((kind) => (kind === "tool" ? capabilities.tools : kind === "prompt" ? capabilities.prompts : capabilities.resources));
}

/** Every item of one kind, all pages; undefined when the backend hands out more than 50 pages (the list is then not known whole). */
export async function listDefinitions(request: (request: Request) => Promise<Result>, kind: PinKind): Promise<Record<string, unknown>[] | undefined> {
  const items: Record<string, unknown>[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const result = await request({ method: LISTS[kind].method, params: cursor === undefined ? {} : { cursor } });
    items.push(...(((result[LISTS[kind].key] as unknown[] | undefined) ?? []) as Record<string, unknown>[]));
    cursor = typeof result.nextCursor === "string" ? result.nextCursor : undefined;
    if (cursor === undefined) return items;
  }
  return undefined;
}
