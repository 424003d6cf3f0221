/** Hints print the command as the person ran it: `npx bun cli/main.ts …` in a clone, `mcpgw …` for the binary. */
import { join } from "node:path";
import { expect, test } from "vitest";
import { asInvoked, programName } from "../cli/program-name.ts";
import { REPO_ROOT, runCli } from "./helpers/cli.ts";

test("in a clone, an error's hint names the command as npx bun cli/main.ts; MCPGW_PROGRAM_NAME names it otherwise", async () => {
  const db = `sqlite:${join(REPO_ROOT, "no-such-dir", "x.db")}`;
  const missing = await runCli(["--db", db, "role", "list"], { env: { MCPGW_PROGRAM_NAME: undefined } });
  expect(missing.code).toBe(1);
  expect(missing.stderr).toMatch(/→ set one up with npx bun cli\/main\.ts init \(or create its tables with npx bun cli\/main\.ts migrate\)/);
  expect(missing.stderr).not.toMatch(/→ .*(?<!\/)mcpgw (init|migrate)\b/);
  const wrapped = await runCli(["--db", db, "role", "list"], { env: { MCPGW_PROGRAM_NAME: "docker compose run --rm migrate" } });
  expect(wrapped.stderr).toContain("→ set one up with docker compose run --rm migrate init");
});

test("the binary is mcpgw; a source entry is its path from the working directory; other words are left alone", () => {
  expect(programName(["/usr/local/bin/mcpgw", "/$bunfs/root/mcpgw", "role", "list"], "/srv", undefined)).toBe("mcpgw");
  expect(programName(["bun", "/home/me/mcpgw/cli/main.ts"], "/home/me/mcpgw", undefined)).toBe("npx bun cli/main.ts");
  expect(programName(["bun", "/home/me/mcpgw/cli/main.ts"], "/tmp", undefined)).toBe("npx bun /home/me/mcpgw/cli/main.ts");
  expect(programName(["bun", "/home/me/mcpgw/cli/main.ts"], "/tmp", "kubectl exec deploy/agent -c mcpgw -- mcpgw")).toBe(
    "kubectl exec deploy/agent -c mcpgw -- mcpgw",
  );
  const hint = "run mcpgw migrate, then mcpgw backend list; the mcpgw database and mcpgw_build_info stay";
  expect(asInvoked(hint, "npx bun cli/main.ts")).toBe(
    "run npx bun cli/main.ts migrate, then npx bun cli/main.ts backend list; the mcpgw database and mcpgw_build_info stay",
  );
  expect(asInvoked(hint, "mcpgw")).toBe(hint);
});
