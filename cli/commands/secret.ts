import { noSecretKeyError } from "../../src/config/secret-key-settings.ts";
import type { SubjectSecretInfo } from "../../src/credentials/subject-secret-repository.ts";
import { SubjectSecrets } from "../../src/credentials/subject-secrets.ts";
import { McpgwError, NotFoundError, UsageError } from "../../src/errors.ts";
import type { Store } from "../../src/store/store.ts";
import { type CommandContext, withStore } from "../context.ts";
import { printJson, printTable } from "../output.ts";

function secretsOf(context: CommandContext, store: Store): SubjectSecrets {
  return new SubjectSecrets(store.subjectSecrets, context.settings.secretKeys);
}

function view(info: SubjectSecretInfo) {
  return {
    backend: info.backend,
    subject: info.subject,
    secretId: info.secretId,
    keyId: info.keyId,
    createdAt: new Date(info.createdAt).toISOString(),
    updatedAt: new Date(info.updatedAt).toISOString(),
  };
}

/**
 * `mcpgw secret set BACKEND --sub S`: the value comes from stdin (a pipe or file), or a prompt without
 * echo on a terminal. Never from argv, where shell history and the process list would keep it:
 * `extraArguments` (words after BACKEND) are refused without being repeated.
 */
export async function runSecretSet(context: CommandContext, backend: string, options: { sub: string; json?: boolean }, extraArguments: number): Promise<void> {
  if (extraArguments > 0) {
    throw new UsageError(
      "mcpgw secret set takes the secret on stdin, never on the command line (shell history and the process list would keep it); nothing was stored",
      `pipe it in: printf %s "$TOKEN" | mcpgw secret set ${backend} --sub ${options.sub}   (or run it on a terminal to be asked without echo)`,
    );
  }
  if (!context.settings.secretKeys.current) throw noSecretKeyError("mcpgw secret set");
  // The backend is checked before the value is asked for: nobody types a secret for a typo.
  const spec = await withStore(context, (store) => store.backends.get(backend));
  if (!spec) throw new NotFoundError(`there is no backend "${backend}"`, "list them with: mcpgw backend list");
  const value = await readSecretValue(`secret of ${options.sub} for backend ${backend}`);
  const info = await withStore(context, (store) => secretsOf(context, store).set(backend, options.sub, value));
  if (options.json) printJson(view(info));
  else
    console.log(
      `stored the secret of "${options.sub}" for backend "${backend}" (${info.secretId}, key ${info.keyId}); running gateways use it within a second`,
    );
  if (spec.auth?.mode !== "per-subject-secret") {
    process.stderr.write(
      `note: backend "${backend}" does not take per-subject secrets (--auth ${spec.auth?.mode ?? "static"}): the secret is unused until mcpgw backend update ${backend} --auth per-subject-secret\n`,
    );
  }
}

/** The secret from stdin, one trailing newline dropped; on a terminal, asked for without echo. */
async function readSecretValue(what: string): Promise<string> {
  if (process.stdin.isTTY) {
    const { password } = await import("@inquirer/prompts");
    try {
      return await password({ message: `${what} (not shown)` }, { output: process.stderr });
    } catch (err) {
      if (err instanceof Error && err.name === "ExitPromptError") throw new McpgwError("not entered: nothing was stored");
      throw err;
    }
  }
  const text = await Bun.stdin.text();
  return text.endsWith("\r\n") ? text.slice(0, -2) : text.endsWith("\n") ? text.slice(0, -1) : text;
}

export async function runSecretList(context: CommandContext, backend: string | undefined, options: { json?: boolean }): Promise<void> {
  const secrets = await withStore(context, (store) => secretsOf(context, store).list(backend));
  if (options.json) return printJson(secrets.map(view));
  if (secrets.length === 0) {
    console.log(`no secrets${backend ? ` for backend "${backend}"` : ""} (store one with: printf %s "$TOKEN" | mcpgw secret set BACKEND --sub SUBJECT)`);
    return;
  }
  printTable(
    ["BACKEND", "SUBJECT", "SECRET ID", "KEY", "UPDATED"],
    secrets.map((s) => [s.backend, s.subject, s.secretId, s.keyId, new Date(s.updatedAt).toISOString()]),
  );
}

export async function runSecretRemove(context: CommandContext, backend: string, options: { sub: string }): Promise<void> {
  await withStore(context, (store) => secretsOf(context, store).remove(backend, options.sub));
  console.log(`removed the secret of "${options.sub}" for backend "${backend}" (running gateways stop using it within a second)`);
}

export async function runSecretRekey(context: CommandContext, options: { json?: boolean }): Promise<void> {
  const report = await withStore(context, (store) => secretsOf(context, store).rekey());
  if (options.json) return printJson(report);
  console.log(`re-encrypted ${report.rekeyed} secret${report.rekeyed === 1 ? "" : "s"} with key ${report.keyId} (${report.current} already under it)`);
  if (report.rekeyed > 0) console.log("the old key decrypts none of them now: drop MCPGW_SECRET_KEY_OLD from the gateways once they all have the new key");
}
