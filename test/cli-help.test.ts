import type { Command } from "commander";
import { describe, expect, test } from "vitest";
import { buildProgram } from "../cli/program.ts";
import { runCli } from "./helpers/cli.ts";

/** Every command of the tree, the program itself first, with the words that invoke it. */
function everyCommand(command: Command, path: string[] = []): { command: Command; path: string }[] {
  return [{ command, path: ["mcpgw", ...path].join(" ") }, ...command.commands.flatMap((sub) => everyCommand(sub, [...path, sub.name()]))];
}

/** What `--help` prints for a command, captured in-process (the text added with addHelpText included). */
function helpOf(command: Command): string {
  let text = "";
  command.configureOutput({ writeOut: (chunk) => void (text += chunk), writeErr: (chunk) => void (text += chunk) });
  command.outputHelp();
  return text;
}

/** Commands that list, show or report things: people read a table, scripts need --json. */
const REPORTING = /^(list|show|tail|verify|test|status|doctor)$/;

describe("every command's --help", () => {
  const commands = everyCommand(buildProgram());

  test("shows at least one example that runs that command", () => {
    expect(commands.length).toBeGreaterThan(30);
    const missing = commands
      .filter(({ command, path }) => {
        const help = helpOf(command);
        const examples = help.split(/\n\s*Examples?:\n/)[1];
        return examples === undefined || !examples.split("\n").some((line) => line.includes(`${path} `) || line.trimEnd().endsWith(path));
      })
      .map(({ path }) => path);
    // Add one with .addHelpText("after", "\nExample:\n  mcpgw …") where the command is defined (cli/program.ts).
    expect(missing, `commands whose --help shows no "Example:" running them: ${missing.join(", ")}`).toEqual([]);
  });

  test("of a command that lists, shows or reports things offers --json", () => {
    const reporting = commands.filter(({ command }) => REPORTING.test(command.name()));
    expect(reporting.map(({ path }) => path)).toEqual(expect.arrayContaining(["mcpgw backend list", "mcpgw role show", "mcpgw audit tail", "mcpgw doctor"]));
    const missing = reporting.filter(({ command }) => !command.options.some((option) => option.long === "--json")).map(({ path }) => path);
    expect(missing, `commands that list or show things without --json: ${missing.join(", ")}`).toEqual([]);
  });

  test("backend update takes every flag of backend add (edit in place: any setting add can make)", () => {
    const backend = buildProgram().commands.find((command) => command.name() === "backend")!;
    const flags = (name: string) => backend.commands.find((command) => command.name() === name)!.options.map((option) => option.long);
    expect(flags("update")).toEqual(expect.arrayContaining(flags("add")));
  });

  test("the real program prints the example after the options", async () => {
    const result = await runCli(["backend", "add", "--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Options:[\s\S]*\nExamples?:\n {2}mcpgw backend add /);
  });
});
