import { McpgwError, UsageError } from "../../src/errors.ts";
import type { CommandContext } from "../context.ts";
import { explainRefusal, requireBackend, withOperatorGateway } from "../operator-gateway-run.ts";
import { printJson } from "../output.ts";
import { toolResultText } from "../tool-result-text.ts";

/**
 * `mcpgw call BACKEND/TOOL '{json}' --as SUBJECT [--json]`: one tools/call through the gateway's
 * pipeline, as SUBJECT (its granted roles). The result goes to stdout (readable, or whole with
 * --json); a result with isError goes to stderr as text and exits 1, like any failed command.
 */
export async function runCall(context: CommandContext, target: string, argumentsText: string, options: { as: string; json?: boolean }): Promise<void> {
  const { backend, tool } = parseTarget(target);
  const args = parseArguments(argumentsText === "-" ? await Bun.stdin.text() : argumentsText);
  const result = await withOperatorGateway(context, async (gateway, signal) => {
    requireBackend(gateway, backend);
    try {
      return await gateway.request(options.as, backend, { method: "tools/call", params: { name: tool, arguments: args } }, signal);
    } catch (err) {
      throw explainRefusal(signal.aborted ? signal.reason : err, options.as, gateway.rolesOf(options.as), backend);
    }
  });
  if (options.json) printJson(result);
  else if (result.isError === true) process.stderr.write(toolResultText(result));
  else process.stdout.write(toolResultText(result));
  if (result.isError === true) {
    throw new McpgwError(`${backend}/${tool} reported an error (isError)`, options.json ? undefined : "its message is above; --json prints the whole result");
  }
}

/** "backend/tool": the tool name may itself hold slashes; the backend is up to the first one. */
function parseTarget(target: string): { backend: string; tool: string } {
  const slash = target.indexOf("/");
  if (slash <= 0 || slash === target.length - 1) {
    throw new UsageError(`"${target}" is not BACKEND/TOOL`, 'name the tool with its backend, e.g. mcpgw call everything/echo \'{"message":"hi"}\' --as admin');
  }
  return { backend: target.slice(0, slash), tool: target.slice(slash + 1) };
}

function parseArguments(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UsageError(
      `the tool's arguments are not JSON: ${(err as Error).message}`,
      `pass one JSON object in single quotes, e.g. '{"message":"hi"}' (or '{}' for none)`,
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new UsageError(
      `the tool's arguments must be a JSON object, not ${Array.isArray(value) ? "an array" : value === null ? "null" : typeof value}`,
      `pass them by name, e.g. '{"message":"hi"}'`,
    );
  }
  return value as Record<string, unknown>;
}
