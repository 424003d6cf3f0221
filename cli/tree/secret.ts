import type { Command } from "commander";
import { commandContext } from "../context.ts";

/** `mcpgw secret set|list|remove|rekey`: per-subject secrets for --auth per-subject-secret backends. */
export function addSecretCommands(program: Command): void {
  const secret = program
    .command("secret")
    .description("per-subject secrets that backends with --auth per-subject-secret get for each caller (encrypted with MCPGW_SECRET_KEY)")
    .addHelpText(
      "after",
      '\nExamples:\n  printf %s "$ALICE_TICKETS_TOKEN" | mcpgw secret set tickets --sub alice\n  mcpgw secret list tickets\n  mcpgw secret rekey',
    );
  const load = () => import("../commands/secret.ts");

  secret
    .command("set")
    .description(
      "store a subject's secret for a backend (replaces any): the value is read from stdin, or asked for without echo on a terminal — never from the command line",
    )
    .argument("<backend>", "the backend (added with --auth per-subject-secret)")
    .requiredOption("--sub <subject>", "the caller it is for, as tokens name it")
    .option("--json", "print what was stored (never the value) as JSON")
    // A value typed after the backend is caught and refused with an explanation, not as "too many arguments".
    .allowExcessArguments(true)
    .addHelpText(
      "after",
      '\nExamples:\n  printf %s "$ALICE_TICKETS_TOKEN" | mcpgw secret set tickets --sub alice\n  mcpgw secret set tickets --sub bob < bob-token.txt\n  mcpgw secret set tickets --sub carol        # on a terminal: asks, without echo\n\nOne trailing newline is dropped. Needs MCPGW_SECRET_KEY (or MCPGW_SECRET_KEY_FILE): openssl rand -base64 32',
    )
    .action(async (backend: string, options: { sub: string; json?: boolean }, command: Command) => {
      const { runSecretSet } = await load();
      await runSecretSet(commandContext(command), backend, options, command.args.length - 1);
    });

  secret
    .command("list")
    .description("list stored secrets: backend, subject, secret id, key id, when set — never the values")
    .argument("[backend]", "only this backend's")
    .option("--json", "print JSON for scripts")
    .addHelpText("after", "\nExamples:\n  mcpgw secret list\n  mcpgw secret list tickets --json")
    .action(async (backend: string | undefined, options: { json?: boolean }, command: Command) => {
      const { runSecretList } = await load();
      await runSecretList(commandContext(command), backend, options);
    });

  secret
    .command("remove")
    .description("remove a subject's secret for a backend (its calls there then fail, saying how to set one)")
    .argument("<backend>", "the backend")
    .requiredOption("--sub <subject>", "the caller whose secret goes")
    .addHelpText("after", "\nExample:\n  mcpgw secret remove tickets --sub alice")
    .action(async (backend: string, options: { sub: string }, command: Command) => {
      const { runSecretRemove } = await load();
      await runSecretRemove(commandContext(command), backend, options);
    });

  secret
    .command("rekey")
    .description("re-encrypt every secret with the current key (MCPGW_SECRET_KEY), decrypting with the old one (MCPGW_SECRET_KEY_OLD), in one transaction")
    .option("--json", "print the counts as JSON")
    .addHelpText(
      "after",
      '\nExamples:\n  mcpgw secret rekey      # MCPGW_SECRET_KEY: the new key; MCPGW_SECRET_KEY_OLD: the old one\n  MCPGW_SECRET_KEY_OLD="$OLD_KEY" MCPGW_SECRET_KEY="$NEW_KEY" mcpgw secret rekey --json\n\nRows already under the current key are left alone, so it can be run again. Give running gateways both keys\nduring the rotation (the new one as MCPGW_SECRET_KEY, the old as MCPGW_SECRET_KEY_OLD), then drop the old one (docs/security.md, "Rotating the key").',
    )
    .action(async (options: { json?: boolean }, command: Command) => {
      const { runSecretRekey } = await load();
      await runSecretRekey(commandContext(command), options);
    });
}
