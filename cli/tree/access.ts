import type { ClientConfigOptions } from "../commands/client.ts";
import type { Command } from "commander";
import { commandContext } from "../context.ts";
import { collect } from "./collect.ts";

/** `mcpgw role create|grant|revoke|list|show|delete`. */
export function addRoleCommands(program: Command): void {
  const role = program
    .command("role")
    .description("roles: which tools, resources and prompts a subject may use (deny wins, default deny)")
    .addHelpText("after", "\nExamples:\n  mcpgw role create dev --allow 'github/*' --deny 'github/delete_*'\n  mcpgw role grant dev alice@example.com");
  const load = () => import("../commands/role.ts");

  role
    .command("create")
    .description("create a role from allow and deny patterns")
    .argument("<role>", "role name (letters, digits, _ . : -)")
    .option(
      "--allow <pattern>",
      'allow a pattern: BACKEND/TOOL glob, resource:BACKEND/URI-GLOB, prompt:BACKEND/NAME-GLOB, method:BACKEND/METHOD; conditions like [path^="/srv/"] (repeatable)',
      collect,
      [],
    )
    .option("--deny <pattern>", "deny a pattern; a deny always wins over an allow (repeatable)", collect, [])
    .option("--description <text>", "what the role is for")
    .addHelpText(
      "after",
      `
Example:
  mcpgw role create analyst --allow 'github/get_*' --allow 'fs/read_file[path^="/srv/data/"]' --deny 'github/delete_*'`,
    )
    .action(async (name: string, options: { allow: string[]; deny: string[]; description?: string }, command: Command) => {
      const { runRoleCreate } = await load();
      await runRoleCreate(commandContext(command), name, options);
    });

  role
    .command("update")
    .description("change a role in place: remove rules, add rules, change the description; its grants stay")
    .argument("<role>", "role name")
    .option("--allow <pattern>", "add an allow rule (repeatable; same syntax as role create)", collect, [])
    .option("--deny <pattern>", "add a deny rule (repeatable)", collect, [])
    .option(
      "--remove-rule <pattern>",
      "remove the rules with this pattern, allow or deny, written as role show prints it (repeatable; removed before adding)",
      collect,
      [],
    )
    .option("--description <text>", 'new description ("" removes it)')
    .addHelpText(
      "after",
      `
Examples:
  mcpgw role update dev --allow 'jira/*' --deny 'jira/delete_*'
  mcpgw role update dev --remove-rule 'github/*' --allow 'github/get_*'
  mcpgw role update dev --description "developers, read-only on github"`,
    )
    .action(async (name: string, options: { allow: string[]; deny: string[]; removeRule: string[]; description?: string }, command: Command) => {
      const { runRoleUpdate } = await load();
      await runRoleUpdate(commandContext(command), name, options);
    });

  role
    .command("grant")
    .description("grant a role to a subject (the sub claim of its tokens)")
    .addHelpText("after", "\nExample:\n  mcpgw role grant dev alice@example.com")
    .argument("<role>", "role name")
    .argument("<subject>", "subject")
    .action(async (name: string, subject: string, _options: unknown, command: Command) => {
      const { runRoleGrant } = await load();
      await runRoleGrant(commandContext(command), name, subject);
    });

  role
    .command("revoke")
    .description("take a granted role back from a subject")
    .addHelpText("after", "\nExample:\n  mcpgw role revoke dev alice@example.com")
    .argument("<role>", "role name")
    .argument("<subject>", "subject")
    .action(async (name: string, subject: string, _options: unknown, command: Command) => {
      const { runRoleRevoke } = await load();
      await runRoleRevoke(commandContext(command), name, subject);
    });

  role
    .command("list")
    .description("list roles with their rules and subjects")
    .addHelpText("after", "\nExample:\n  mcpgw role list --json")
    .option("--json", "print JSON for scripts")
    .action(async (options: { json?: boolean }, command: Command) => {
      const { runRoleList } = await load();
      await runRoleList(commandContext(command), options);
    });

  role
    .command("show")
    .description("show one role")
    .addHelpText("after", "\nExample:\n  mcpgw role show dev")
    .argument("<role>", "role name")
    .option("--json", "print JSON for scripts")
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      const { runRoleShow } = await load();
      await runRoleShow(commandContext(command), name, options);
    });

  role
    .command("delete")
    .description("delete a role, its rules and its grants; says what goes with it and asks on a terminal")
    .addHelpText(
      "after",
      "\nExamples:\n  mcpgw role delete dev\n  mcpgw role delete dev --yes    # in scripts: no question (without a terminal, --yes is required)",
    )
    .argument("<role>", "role name")
    .option("--yes", "do not ask for confirmation")
    .action(async (name: string, options: { yes?: boolean }, command: Command) => {
      const { runRoleDelete } = await load();
      await runRoleDelete(commandContext(command), name, options);
    });
}

/** `mcpgw token issue|list|revoke`. */
export function addTokenCommands(program: Command): void {
  const token = program
    .command("token")
    .description("bearer tokens the gateway issues: mint, list, revoke")
    .addHelpText("after", "\nExamples:\n  TOKEN=$(mcpgw token issue --sub alice --role dev --ttl 1h)\n  mcpgw token list");
  const load = () => import("../commands/token.ts");

  token
    .command("issue")
    .description("mint a signed JWT for a subject and print it (stdout: the token alone, so TOKEN=$(mcpgw token issue …) works)")
    .addHelpText(
      "after",
      '\nExamples:\n  TOKEN=$(mcpgw token issue --sub alice --role dev --ttl 1h)\n  mcpgw token issue --sub ci-bot --role deployer --ttl 7d --description "CI pipeline" --json',
    )
    .requiredOption("--sub <subject>", "the subject: who the token speaks for (role grants and audit use it)")
    .option("--role <role>", "a role carried in the token (repeatable; each must exist: mcpgw role list)", collect, [])
    .option("--ttl <duration>", "lifetime, e.g. 15m, 1h, 30d (default 1h, at most 366d)")
    .option("--description <text>", "what the token is for (shown by token list)")
    .option("--json", "print the token and its claims as JSON")
    .action(async (options: { sub: string; role: string[]; ttl?: string; description?: string; json?: boolean }, command: Command) => {
      const { runTokenIssue } = await load();
      await runTokenIssue(commandContext(command), options);
    });

  token
    .command("list")
    .description("list issued tokens: subject, roles, expiry, revoked (never the tokens themselves)")
    .addHelpText("after", "\nExample:\n  mcpgw token list --json")
    .option("--json", "print JSON for scripts")
    .action(async (options: { json?: boolean }, command: Command) => {
      const { runTokenList } = await load();
      await runTokenList(commandContext(command), options);
    });

  token
    .command("revoke")
    .description("revoke a token by its jti, or every live token of a subject (--all-for); running gateways refuse them within a second")
    .addHelpText(
      "after",
      "\nExamples:\n  mcpgw token revoke 9f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f\n  mcpgw token revoke --all-for alice@example.com          # asks on a terminal\n  mcpgw token revoke --all-for ci-bot --yes               # in scripts",
    )
    .argument("[jti]", "the token's id (the JTI column of token list)")
    .option("--all-for <subject>", "revoke every live token of this subject instead (asks first; --yes in scripts)")
    .option("--yes", "with --all-for: do not ask for confirmation")
    .action(async (jti: string | undefined, options: { allFor?: string; yes?: boolean }, command: Command) => {
      const { runTokenRevoke } = await load();
      await runTokenRevoke(commandContext(command), jti, options);
    });
}

/** `mcpgw client config`. */
export function addClientCommands(program: Command): void {
  const client = program
    .command("client")
    .description("connect MCP clients: print the configuration a client needs, with a token in it")
    .addHelpText("after", "\nExample:\n  mcpgw client config --client cursor --sub alice --role dev");
  client
    .command("config")
    .description("mint a token and print the exact configuration block for a client (stdout: the block; stderr: where it goes)")
    .addHelpText(
      "after",
      "\nClients: claude-desktop, claude-code, cursor, vscode, mcp-remote, inspector (docs/clients.md)\n" +
        "\nExamples:\n  mcpgw client config --client claude-desktop --sub alice --role dev\n" +
        "  mcpgw client config --client vscode --sub alice --role dev --backend github --ttl 7d\n" +
        "  mcpgw client config --client inspector --sub ci-bot --role reader --url https://mcp.example.com --json",
    )
    .requiredOption("--client <name>", "the client: claude-desktop, claude-code, cursor, vscode, mcp-remote or inspector")
    .requiredOption("--sub <subject>", "who the token speaks for (role grants and audit use it)")
    .option("--role <role>", "a role carried in the token (repeatable; each must exist)", collect, [])
    .option("--ttl <duration>", "the token's lifetime, e.g. 7d (default 30d, at most 366d)")
    .option("--backend <name>", "connect to /mcp/<name> (one backend, names untouched) instead of /mcp")
    .option("--url <url>", "the gateway as clients reach it (default MCPGW_PUBLIC_URL, else the address serve listens on)")
    .option("--name <name>", "the server's name in the client's configuration (default mcpgw, or mcpgw-<backend>)")
    .option("--json", "print the block, where it goes and the token's jti as JSON")
    .action(async (options: ClientConfigOptions, command: Command) => {
      const { runClientConfig } = await import("../commands/client.ts");
      await runClientConfig(commandContext(command), options);
    });
}

/** `mcpgw key rotate|list|retire`. */
export function addKeyCommands(program: Command): void {
  const key = program
    .command("key")
    .description("the gateway's token signing keys (public halves at /.well-known/jwks.json)")
    .addHelpText("after", "\nExamples:\n  mcpgw key rotate\n  mcpgw key list");
  const load = () => import("../commands/key.ts");

  key
    .command("rotate")
    .description("create a new active signing key; older keys keep verifying their tokens until retired")
    .addHelpText("after", "\nExample:\n  mcpgw key rotate --json")
    .option("--json", "print the new key (public half) as JSON")
    .action(async (options: { json?: boolean }, command: Command) => {
      const { runKeyRotate } = await load();
      await runKeyRotate(commandContext(command), options);
    });

  key
    .command("list")
    .description("list signing keys: kid, algorithm, created, active or retired (never private material)")
    .addHelpText("after", "\nExample:\n  mcpgw key list --json")
    .option("--json", "print JSON for scripts")
    .action(async (options: { json?: boolean }, command: Command) => {
      const { runKeyList } = await load();
      await runKeyList(commandContext(command), options);
    });

  key
    .command("retire")
    .description("retire a signing key: tokens it signed are refused from then on (within a second)")
    .addHelpText("after", "\nExample:\n  mcpgw key retire wSkJxAFSHhiHy4PKo38bPVPVVZ-VgDxGEVNjT4PL6D4")
    .argument("<kid>", "the key's id (the KID column of key list)")
    .addHelpText("after", "\nA kid may start with '-' (it is a base64url thumbprint): put it after --, e.g. mcpgw key retire -- -AbC…")
    .action(async (kid: string, _options: unknown, command: Command) => {
      const { runKeyRetire } = await load();
      await runKeyRetire(commandContext(command), kid);
    });
}
