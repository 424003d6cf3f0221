import type { Command } from "commander";
import { commandContext } from "../context.ts";

const WHO_MAY_USE_AS =
  "--as needs no token: whoever holds the database URL can already issue tokens for any subject, so calling as one grants nothing new. The call is audited with that subject and the client mcpgw-cli.";

/** `mcpgw tools list` and `mcpgw call`: backends' tools, listed and called through the gateway's own pipeline. */
export function addToolsCommands(program: Command): void {
  const tools = program
    .command("tools")
    .description("the tools a subject may use, through the gateway's policy")
    .addHelpText("after", "\nExamples:\n  mcpgw tools list --as alice\n  mcpgw tools list --backend everything --as admin --json");

  tools
    .command("list")
    .description("list the tools a subject may use (policy filters the list as the gateway would), per backend")
    .requiredOption("--as <subject>", "list as this subject: the roles granted to it decide what is visible")
    .option("--backend <name>", "only this backend")
    .option("--json", "print the tools (every field the backend gives, plus backend) as JSON for scripts")
    .addHelpText(
      "after",
      `
Examples:
  mcpgw tools list --as admin
  mcpgw tools list --as alice --backend everything
  mcpgw tools list --as alice --json | jq -r '.[] | "\\(.backend)/\\(.name)"'

${WHO_MAY_USE_AS}`,
    )
    .action(async (options: { as: string; backend?: string; json?: boolean }, command: Command) => {
      const { runToolsList } = await import("../commands/tools.ts");
      await runToolsList(commandContext(command), options);
    });

  program
    .command("call")
    .description("call a tool through the gateway's pipeline (policy, limits, audit) and print its result; exit 1 when the tool reports an error")
    .argument("<backend/tool>", "the tool, as BACKEND/TOOL")
    .argument("[arguments]", "the tool's arguments as a JSON object (- reads it from stdin)", "{}")
    .requiredOption("--as <subject>", "call as this subject: the roles granted to it decide whether the call is allowed")
    .option("--json", "print the whole result (every content item, structuredContent, isError) as JSON")
    .addHelpText(
      "after",
      `
Examples:
  mcpgw call everything/echo '{"message":"hello"}' --as admin
  mcpgw call everything/get-sum '{"a":1,"b":2}' --as alice --json
  echo '{"message":"hi"}' | mcpgw call everything/echo - --as alice

Text content is printed as text; images, audio and resources are summarised (--json shows them whole).
${WHO_MAY_USE_AS}`,
    )
    .action(async (target: string, args: string, options: { as: string; json?: boolean }, command: Command) => {
      const { runCall } = await import("../commands/call.ts");
      await runCall(commandContext(command), target, args, options);
    });
}
