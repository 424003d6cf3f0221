import { McpgwError, UsageError } from "../src/errors.ts";

export interface Confirmation {
  /** What the command is about to do, as a question without the "?": `delete role "dev"`. */
  action: string;
  /** What else goes with it (or is left pointing at nothing), one line each; empty when nothing does. */
  consequences: string[];
  /** --yes: the operator (or a script) has already said yes. */
  yes?: boolean;
  /** The command again with --yes, for the hint when there is no terminal to ask on. */
  withYes: string;
}

/**
 * Asks before a destructive command. On a terminal: what else goes, then a yes/no question
 * (default no). With --yes: no question. Without a terminal and without --yes: a usage error
 * (exit 2) that says what would go and to pass --yes, so a script never deletes by surprise
 * and never hangs on a question nobody sees.
 */
export async function confirmDestructive(confirmation: Confirmation): Promise<void> {
  if (confirmation.yes) return;
  const consequences = confirmation.consequences.map((line) => `  - ${line}\n`).join("");
  if (!process.stdin.isTTY) {
    throw new UsageError(
      `${confirmation.action} needs confirmation, and stdin is not a terminal to ask on${consequences ? `; it would also:\n${consequences.trimEnd()}` : ""}`,
      `pass --yes to go ahead without asking: ${confirmation.withYes}`,
    );
  }
  if (consequences) process.stderr.write(`This will also:\n${consequences}`);
  const { confirm } = await import("@inquirer/prompts");
  let answer: boolean;
  try {
    // Asked on stderr: stdout stays the command's output.
    answer = await confirm({ message: `${capitalize(confirmation.action)}?`, default: false }, { output: process.stderr });
  } catch (err) {
    if (err instanceof Error && err.name === "ExitPromptError") answer = false;
    else throw err;
  }
  if (!answer) throw new McpgwError(`not confirmed: nothing was changed`, `to go ahead without the question: ${confirmation.withYes}`);
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
