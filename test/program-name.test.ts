/** Hints print the command as the person ran it: `npx bun cli/main.ts …` in a clone, `mcpgw …` for the binary. */
import { join } from "node:path";
import { expect, test } from "vitest";
import { asInvoked, programName } from "../cli/program-name.ts";
import { REPO_ROOT, runCli } from "./helpers/cli.ts";

test("in a clone, an error's hint names the command as npx bun cli/main.ts", async () => {
  const result = await runCli(["--db", "sqlite::memory:", "call", "everything/echo", "[1]", "--as", "alice"]);
  expect(result.code).toBe(2);
  expect(result.stderr).toContain("e.g. '{\"message\":\"hi\"}'");
  const missing = await runCli(["--db", `sqlite:${join(REPO_ROOT, "no-such-dir", "x.db")}`, "role", "list"]);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toMatch(/→ .*npx bun cli\/main\.ts /);
  expect(missing.stderr).not.toMatch(/→ .*(?<!\/)mcpgw (init|migrate)\b/);
});

test("the binary is mcpgw; a source entry is its path from the working directory; other words are left alone", () => {
  expect(programName(["/usr/local/bin/mcpgw", "/$bunfs/root/mcpgw", "role", "list"], "/srv")).toBe("mcpgw");
  expect(programName(["bun", "/home/me/mcpgw/cli/main.ts"], "/home/me/mcpgw")).toBe("npx bun cli/main.ts");
  expect(programName(["bun", "/home/me/mcpgw/cli/main.ts"], "/tmp")).toBe("npx bun /home/me/mcpgw/cli/main.ts");
  const hint = "run mcpgw migrate, then mcpgw backend list; the mcpgw database and mcpgw_build_info stay";
  expect(asInvoked(hint, "npx bun cli/main.ts")).toBe("run npx bun cli/main.ts migrate, then npx bun cli/main.ts backend list; the mcpgw database and mcpgw_build_info stay");
  expect(asInvoked(hint, "mcpgw")).toBe(hint);
});
