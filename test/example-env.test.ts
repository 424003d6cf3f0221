/**
 * example.env is the list of settings a user reads: it must name every MCPGW_* variable the
 * program reads (src/config/env.ts, the one module that reads them) and nothing it does not.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { expect, test } from "vitest";
import { SETTING_VARIABLES } from "../src/config/env.ts";
import { REPO_ROOT } from "./helpers/cli.ts";

/** Variables example.env sets or shows commented out: `NAME=…` or `# NAME=…` at the start of a line. */
function exampleVariables(): string[] {
  const text = readFileSync(join(REPO_ROOT, "example.env"), "utf8");
  return [...text.matchAll(/^(?:# ?)?(MCPGW_[A-Z0-9_]+)=/gm)].map((match) => match[1]!);
}

test("example.env lists every setting the code reads, each once, and no other", () => {
  const listed = exampleVariables();
  expect(listed.filter((name, i) => listed.indexOf(name) !== i)).toEqual([]);
  expect([...listed].sort()).toEqual([...SETTING_VARIABLES].sort());
});

test("no module but src/config/env.ts reads an MCPGW_* variable from the environment", () => {
  const readers: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (path.endsWith(".ts") && !path.endsWith(".test.ts") && !path.endsWith(join("config", "env.ts"))) {
        if (/env(?:\.|\[\s*["'`])MCPGW_/.test(readFileSync(path, "utf8"))) readers.push(relative(REPO_ROOT, path));
      }
    }
  };
  for (const folder of ["src", "cli"]) walk(join(REPO_ROOT, folder));
  expect(readers).toEqual([]);
});
