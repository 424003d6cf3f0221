import type { Request, Result } from "@modelcontextprotocol/sdk/types.js";
import { decodeCursor, encodeCursor } from "./aggregate-names.ts";
import type { CallerSession, ClientRequestExtra } from "./caller-session.ts";
import { describeError } from "../errors.ts";
import { ErrorCode, McpError } from "../protocol/mcp-values.ts";

type Item = Record<string, unknown>;

/**
 * One page of a list that spans every backend. A page holds each backend's page in name order,
 * from where the cursor points, up to and including the first backend that has more pages; the
 * cursor then says "this backend, its own cursor". Clients that never paginate still see every
 * backend whose list fits in one page. A backend that fails is left out of the page (and logged).
 */
export async function aggregateList(
  session: CallerSession,
  request: Request,
  extra: ClientRequestExtra,
  key: "tools" | "prompts" | "resources" | "resourceTemplates",
  rename: (backend: string, item: Item) => Item,
): Promise<Result> {
  const params = (request.params ?? {}) as Record<string, unknown>;
  const names = session.backendNames();
  let start = 0;
  let firstCursor: string | undefined;
  if (typeof params.cursor === "string") {
    const position = decodeCursor(params.cursor);
    if (!position) throw new McpError(ErrorCode.InvalidParams, "invalid cursor: pass back the nextCursor of the previous page unchanged");
    start = names.findIndex((name) => name >= position.backend);
    if (start < 0) return { [key]: [] };
    if (names[start] === position.backend) firstCursor = position.cursor;
  }
  const pending = names.slice(start);
  const pages = await Promise.all(
    pending.map(async (backend, i) => {
      const cursor = i === 0 ? firstCursor : undefined;
      const { cursor: _dropped, ...rest } = params;
      try {
        return await session.forward(backend, { method: request.method, params: cursor === undefined ? rest : { ...rest, cursor } }, extra);
      } catch (err) {
        // The client's cursor points into this backend's list: leaving the backend out would silently drop the rest of it.
        if (cursor !== undefined) {
          if (err instanceof McpError && err.code === ErrorCode.InvalidParams) {
            throw new McpError(ErrorCode.InvalidParams, `invalid cursor: backend "${backend}" rejected it (${err.message}); list again without a cursor`);
          }
          throw err;
        }
        session.log.warn({ backend, method: request.method, err: describeError(err) }, "backend left out of the aggregated list");
        return { [key]: [] } as Result;
      }
    }),
  );
  const items: Item[] = [];
  for (const [i, page] of pages.entries()) {
    const backend = pending[i]!;
    for (const item of (page[key] as Item[] | undefined) ?? []) items.push(rename(backend, item));
    if (typeof page.nextCursor === "string") return { [key]: items, nextCursor: encodeCursor({ backend, cursor: page.nextCursor }) };
  }
  return { [key]: items };
}
