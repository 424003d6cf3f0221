import type { Result } from "@modelcontextprotocol/sdk/types.js";
import { McpgwError, describeError } from "../../src/errors.ts";
import type { CommandContext } from "../context.ts";
import { explainRefusal, requireBackend, withOperatorGateway } from "../operator-gateway-run.ts";
import { printJson, printTable } from "../output.ts";

type Tool = Record<string, unknown> & { name: string; description?: string };

/** A backend's tools as the subject may see them, or why they could not be listed. */
type Listing = { backend: string; tools: Tool[] } | { backend: string; error: string };

/** Pages a backend may return before the listing stops: a backend that never ends its list is not followed forever. */
const MAX_PAGES = 100;
const DESCRIPTION_WIDTH = 72;

/**
 * `mcpgw tools list --as SUBJECT [--backend B] [--json]`: each backend's tools/list through the
 * gateway's pipeline, filtered by the subject's roles as the gateway filters a client's list. A
 * backend that cannot be listed is reported and makes the exit code 1; the others are still listed.
 */
export async function runToolsList(context: CommandContext, options: { as: string; backend?: string; json?: boolean }): Promise<void> {
  const { listings, roles } = await withOperatorGateway(context, async (gateway, signal) => {
    if (options.backend !== undefined) requireBackend(gateway, options.backend);
    const names = options.backend !== undefined ? [options.backend] : gateway.backendNames();
    const roles = gateway.rolesOf(options.as);
    const listings: Listing[] = [];
    // One backend after another: a stdio backend is a process the CLI starts, and several at once slow each other down.
    for (const backend of names) {
      try {
        listings.push({
          backend,
          tools: await listAll((cursor) =>
            gateway.request(options.as, backend, { method: "tools/list", params: cursor === undefined ? {} : { cursor } }, signal),
          ),
        });
      } catch (err) {
        listings.push({ backend, error: describeError(explainRefusal(err, options.as, roles, backend)) });
      }
    }
    return { listings, roles };
  });
  const tools = listings.flatMap((listing) => ("tools" in listing ? listing.tools.map((tool) => ({ backend: listing.backend, ...tool })) : []));
  const failed = listings.filter((listing): listing is Extract<Listing, { error: string }> => "error" in listing);
  if (options.json) printJson(tools);
  else if (listings.length === 0) console.log('no backends yet: add one with mcpgw backend add NAME --url URL (or --command "CMD ARG...")');
  else if (tools.length === 0 && failed.length === 0) {
    console.log(
      `no tools that "${options.as}" may use (${roles.length === 0 ? "no granted roles" : `roles: ${roles.join(", ")}`}); grant a role with: mcpgw role grant ROLE ${options.as}`,
    );
  } else {
    printTable(
      ["TOOL", "DESCRIPTION"],
      tools.map((tool) => [`${tool.backend}/${tool.name}`, firstLine(tool.description)]),
    );
  }
  for (const listing of failed) process.stderr.write(`error: ${listing.error}\n`);
  if (failed.length > 0) {
    throw new McpgwError(
      `${failed.length} of ${listings.length} backend${listings.length === 1 ? "" : "s"} could not be listed: ${failed.map((listing) => listing.backend).join(", ")}`,
      `check ${failed.length === 1 ? "it" : "each"} with: mcpgw backend test ${failed[0]!.backend}`,
    );
  }
}

/** Every page of a list, following nextCursor. */
async function listAll(page: (cursor: string | undefined) => Promise<Result>): Promise<Tool[]> {
  const tools: Tool[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < MAX_PAGES; pages += 1) {
    const result = await page(cursor);
    tools.push(...((result.tools as Tool[] | undefined) ?? []));
    cursor = typeof result.nextCursor === "string" ? result.nextCursor : undefined;
    if (cursor === undefined) break;
  }
  return tools;
}

/** A description's first line, shortened to fit a terminal row. */
function firstLine(description: unknown): string {
  if (typeof description !== "string") return "";
  const line = description.trim().split("\n")[0]!.trim();
  return line.length > DESCRIPTION_WIDTH ? `${line.slice(0, DESCRIPTION_WIDTH - 1)}…` : line;
}
