import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { afterAll, describe, expect, test } from "vitest";
import { completionScript } from "../cli/commands/completion.ts";
import { buildProgram } from "../cli/program.ts";
import { runCli } from "./helpers/cli.ts";
import { tempDir } from "./helpers/temp-dir.ts";

const dir = tempDir("mcpgw-completion-");
afterAll(() => dir.remove());

/** Every command of the real tree, with its path: ["backend", "add"]. */
function commandPaths(command: Command, path: string[] = []): string[][] {
  return command.commands.flatMap((sub) => [[...path, sub.name()], ...commandPaths(sub, [...path, sub.name()])]);
}

/** Runs `script` in a shell after loading the completion for it; returns stdout. */
async function inShell(shell: string, completion: string, script: string): Promise<string> {
  const file = join(dir.path, `completion.${shell}`);
  writeFileSync(file, completion);
  const child = Bun.spawn([shell, "-c", `source ${file}\n${script}`], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  expect(code, stderr).toBe(0);
  return stdout;
}

/**
 * Whether a shell is here to check its script with. Without it the test is skipped loudly, except
 * under CI=true, where it fails: .ci/run installs zsh and fish, and a silent skip would hide a
 * broken script.
 */
function requireShell(context: { skip(note?: string): never }, shell: string): void {
  if (Bun.which(shell) !== null) return;
  const message = `${shell} is not installed (apt-get install -y ${shell}; .ci/run installs it)`;
  if (process.env.CI === "true") throw new Error(`${message}, and CI requires it`);
  console.warn(`\n*** SKIPPED the ${shell} completion check: ${message} ***\n`);
  context.skip(message);
}

describe("mcpgw completion", () => {
  test.for(["bash", "zsh", "fish"])("%s: the script names every command of the tree", async (shell) => {
    const result = await runCli(["completion", shell]);
    expect(result.code, result.stderr).toBe(0);
    const paths = commandPaths(buildProgram());
    expect(paths.length).toBeGreaterThan(30);
    for (const path of paths) expect(result.stdout, path.join(" ")).toContain(path.at(-1)!);
  });

  test("bash: bash -n accepts the script, and completing words walks the command tree", async () => {
    const script = (await runCli(["completion", "bash"])).stdout;
    const check = Bun.spawn(["bash", "-n"], { stdin: new TextEncoder().encode(script), stderr: "pipe" });
    expect(await check.exited, await new Response(check.stderr).text()).toBe(0);

    const complete = (...words: string[]) =>
      `COMP_WORDS=(${words.map((word) => `'${word}'`).join(" ")}); COMP_CWORD=${words.length - 1}; COMPREPLY=(); _mcpgw; echo "\${COMPREPLY[*]}"`;
    const lines = (
      await inShell(
        "bash",
        script,
        [
          complete("mcpgw", ""),
          complete("mcpgw", "backend", ""),
          complete("mcpgw", "--db", "sqlite:x.db", "backend", "add", "x", "--transport", ""),
          complete("mcpgw", "audit", "tail", "--st"),
          complete("mcpgw", "role", "list", "--log-level", "d"),
          complete("mcpgw", "completion", ""),
        ].join("\n"),
      )
    ).split("\n");
    expect(lines[0]!.split(" ")).toEqual(expect.arrayContaining(["serve", "backend", "init", "doctor", "completion"]));
    expect(lines[1]).toBe("add update list show remove pin diff approve test help");
    expect(lines[2]).toBe("streamable-http sse");
    expect(lines[3]).toBe("--status");
    expect(lines[4]).toBe("debug");
    expect(lines[5]).toBe("bash zsh fish");
  });

  test("zsh: zsh -n accepts the script, and the completion function offers the tree's words", async (context) => {
    requireShell(context, "zsh");
    const script = (await runCli(["completion", "zsh"])).stdout;
    // Outside a completion widget, stand-ins print what the real functions would be given.
    const stubs = `compdef() { :; }
_describe() { local -a described; described=("\${(@P)4}"); print -r -- "\${(@)described%%:*}"; }
compadd() { print -r -- "\${(P)2}"; }
_files() { print files; }
t() { words=("$@"); CURRENT=\${#words}; _mcpgw; }`;
    const check = Bun.spawn(["zsh", "-n"], { stdin: new TextEncoder().encode(script), stderr: "pipe" });
    expect(await check.exited, await new Response(check.stderr).text()).toBe(0);
    const lines = (
      await inShell("zsh", `${stubs}\n${script}`, ["t mcpgw backend ''", "t mcpgw backend add x --transport ''", "t mcpgw init --env-file ''"].join("\n"))
    ).split("\n");
    expect(lines.slice(0, 3)).toEqual(["add update list show remove pin diff approve test help", "streamable-http sse", "files"]);
  });

  test("fish: fish -n accepts the script, and complete -C offers the tree's words", async (context) => {
    requireShell(context, "fish");
    const script = (await runCli(["completion", "fish"])).stdout;
    const check = Bun.spawn(["fish", "-n"], { stdin: new TextEncoder().encode(script), stderr: "pipe" });
    expect(await check.exited, await new Response(check.stderr).text()).toBe(0);
    const names = (line: string) =>
      line
        .split("\n")
        .filter(Boolean)
        .map((entry) => entry.split("\t")[0]);
    const backend = await inShell("fish", script, "complete -C'mcpgw backend '");
    expect(names(backend)).toEqual(["add", "approve", "diff", "help", "list", "pin", "remove", "show", "test", "update"]);
    const transport = await inShell("fish", script, "complete -C'mcpgw --db x backend add y --transport '");
    expect(names(transport)).toEqual(["sse", "streamable-http"]);
  });

  test("the script follows the tree: a command added to the program appears without editing the generator", () => {
    const program = buildProgram();
    program.command("zz-added").description("added in this test").option("--zz-flag <value>", "a flag");
    for (const shell of ["bash", "zsh", "fish"]) {
      const script = completionScript(program, shell);
      expect(script, shell).toContain("zz-added");
      expect(script, shell).toContain("zz-flag");
    }
  });

  test("an unknown shell is a usage error (exit 2) naming the shells there are", async () => {
    const result = await runCli(["completion", "tcsh"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("error: command-argument value 'tcsh' is invalid for argument 'shell'. Allowed choices are bash, zsh, fish.");
    expect(result.stdout).toBe("");
  });
});
