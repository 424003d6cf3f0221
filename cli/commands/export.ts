import { chmod, writeFile } from "node:fs/promises";
import { hasLiteralSecrets } from "../../src/backends/secret-refs.ts";
import { exportDocument } from "../../src/declarative/apply-document.ts";
import { McpgwError, describeError } from "../../src/errors.ts";
import { type CommandContext, withStore } from "../context.ts";

/** `mcpgw export [--out FILE]`: the configuration as a document for `mcpgw apply`. */
export async function runExport(context: CommandContext, options: { out?: string }): Promise<void> {
  const { text, state } = await withStore(context, (store) => exportDocument(store));
  if (options.out === undefined) {
    process.stdout.write(text);
  } else {
    try {
      // Owner-only: the document holds header and env values as stored, literals included.
      await writeFile(options.out, text, { mode: 0o600 });
      // The mode applies only to a file writeFile creates: an existing one is narrowed too.
      await chmod(options.out, 0o600);
    } catch (err) {
      throw new McpgwError(`cannot write ${options.out}: ${describeError(err)}`, "check the folder exists and is writable, or choose another --out");
    }
    const counts = [
      plural(state.roles.length, "role"),
      plural(state.bindings.length, "grant"),
      plural(state.backends.length, "backend"),
      plural(state.limits.length, "limit"),
    ];
    process.stderr.write(`exported ${counts.join(", ")} to ${options.out}\n`);
  }
  const literal = state.backends.filter((spec) => hasLiteralSecrets(spec.headers) || hasLiteralSecrets(spec.env)).map((spec) => spec.name);
  if (literal.length > 0) {
    process.stderr.write(
      `note: ${literal.length === 1 ? "backend" : "backends"} ${literal.join(", ")} ${literal.length === 1 ? "has" : "have"} header or env values stored as literals (not \${VAR} references), written to the document as they are: keep it private if they are secrets\n`,
    );
  }
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}
