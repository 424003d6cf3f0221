import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { tempDir } from "../../test/helpers/temp-dir.ts";
import { ConfigError, UsageError } from "../errors.ts";
import { formatDotenvLine, parseDotenv } from "./dotenv.ts";
import { processEnvironment, readEnv } from "./env.ts";
import { resolveSettings } from "./settings.ts";

describe(".env files", () => {
  test("parses bare, quoted and exported values, comments and expansions as Bun's loader does", () => {
    const text = [
      "# settings",
      "MCPGW_DATABASE_URL=postgres://u:p@db:5432/mcpgw?schema=gw&sslmode=require",
      "export MCPGW_PORT=9090",
      "  MCPGW_HOST = 0.0.0.0   # all interfaces",
      'QUOTED="p#x y" # trailing comment',
      "SINGLE='a b'",
      'DOLLAR="pa\\$\\$word"',
      "BARE_DOLLAR=a\\$b",
      'NEWLINE="one\\ntwo"',
      "FROM_ENV=${HOME_DIR}/x",
      "FROM_EARLIER=$MCPGW_PORT",
      "EMPTY=",
      "",
    ].join("\n");
    expect(parseDotenv(text, ".env", { HOME_DIR: "/home/me" })).toEqual({
      MCPGW_DATABASE_URL: "postgres://u:p@db:5432/mcpgw?schema=gw&sslmode=require",
      MCPGW_PORT: "9090",
      MCPGW_HOST: "0.0.0.0",
      QUOTED: "p#x y",
      SINGLE: "a b",
      DOLLAR: "pa$$word",
      BARE_DOLLAR: "a$b",
      NEWLINE: "one\ntwo",
      FROM_ENV: "/home/me/x",
      FROM_EARLIER: "9090",
      EMPTY: "",
    });
  });

  test.for([
    ["a line without =", "JUST_A_WORD", /line 1: "JUST_A_WORD" is not KEY=VALUE/],
    ["an unclosed quote", 'A=ok\nB="open', /line 2: the double quote after B= is never closed/],
  ] as const)("%s is a ConfigError naming the file and line", ([, text, message]) => {
    expect(() => parseDotenv(text, "/srv/.env", {})).toThrowError(ConfigError);
    expect(() => parseDotenv(text, "/srv/.env", {})).toThrowError(message);
  });

  test("formatDotenvLine writes values that read back unchanged, and refuses those that cannot", () => {
    const values = ["sqlite:mcpgw.db", "postgres://app:p$ss#w rd@db:5432/x?schema=gw", "", "a'b", "100%"];
    const text = values.map((value, i) => formatDotenvLine(`K${i}`, value)).join("\n");
    expect(Object.values(parseDotenv(text, ".env", { ss: "EXPANDED" }))).toEqual(values);
    expect(formatDotenvLine("MCPGW_PORT", "8080")).toBe("MCPGW_PORT=8080");
    expect(() => formatDotenvLine("K", 'has "quote"')).toThrowError(UsageError);
    expect(() => formatDotenvLine("K", "two\nlines")).toThrowError(/cannot carry unchanged/);
  });

  test("Bun's own loader reads what formatDotenvLine writes as the same values", async () => {
    const dir = tempDir("mcpgw-dotenv-");
    try {
      const values = { K0: "sqlite:mcpgw.db", K1: "postgres://app:p$ss#w rd@db:5432/x?schema=gw", K2: "a'b" };
      writeFileSync(
        join(dir.path, ".env"),
        Object.entries(values)
          .map(([key, value]) => formatDotenvLine(key, value))
          .join("\n"),
      );
      const child = Bun.spawn([process.execPath, "-e", "console.log(JSON.stringify([process.env.K0, process.env.K1, process.env.K2]))"], {
        cwd: dir.path,
        env: { PATH: process.env.PATH ?? "", ss: "EXPANDED" },
        stdout: "pipe",
      });
      expect(JSON.parse(await new Response(child.stdout).text())).toEqual(Object.values(values));
    } finally {
      dir.remove();
    }
  });

  test("the working directory's .env is read under the real environment, which wins", () => {
    const dir = tempDir("mcpgw-dotenv-");
    try {
      writeFileSync(join(dir.path, ".env"), "MCPGW_DATABASE_URL=sqlite:from-file.db\nMCPGW_PORT=9090\n");
      const merged = processEnvironment(dir.path, { MCPGW_PORT: "7070", OTHER: "x" });
      expect(merged).toMatchObject({ MCPGW_DATABASE_URL: "sqlite:from-file.db", MCPGW_PORT: "7070", OTHER: "x" });
      expect(readEnv(merged)).toMatchObject({ databaseUrl: "sqlite:from-file.db", port: "7070" });
      // No .env: the environment as it is.
      const empty = join(dir.path, "empty");
      mkdirSync(empty);
      expect(processEnvironment(empty, { A: "1" })).toEqual({ A: "1" });
    } finally {
      dir.remove();
    }
  });

  test("a .env that cannot be read is a ConfigError saying what to do", () => {
    const dir = tempDir("mcpgw-dotenv-");
    try {
      mkdirSync(join(dir.path, ".env"));
      expect(() => processEnvironment(dir.path, {})).toThrowError(/cannot read .*\.env/);
    } finally {
      dir.remove();
    }
  });

  test("a bad value read from .env names the file and the line; the same value from the real environment names the variable only", () => {
    const dir = tempDir("mcpgw-dotenv-");
    try {
      const file = join(dir.path, ".env");
      writeFileSync(file, "# settings\nMCPGW_DATABASE_URL=sqlite:x.db\n\nMCPGW_PORT=80a\nMCPGW_AUDIT_FAIL_OPEN=maybe\n");
      const fromFile = () => resolveSettings({}, readEnv(processEnvironment(dir.path, {})));
      expect(messageOf(fromFile)).toBe(`${file}, line 4: MCPGW_PORT: "80a" is not a TCP port`);
      // The real environment wins, so the port is fine; the next bad value is also the file's.
      const portFromShell = () => resolveSettings({}, readEnv(processEnvironment(dir.path, { MCPGW_PORT: "8080" })));
      expect(messageOf(portFromShell)).toBe(`${file}, line 5: MCPGW_AUDIT_FAIL_OPEN: "maybe" is not true or false`);
      const fromShell = () => resolveSettings({}, readEnv(processEnvironment(dir.path, { MCPGW_PORT: "81b", MCPGW_AUDIT_FAIL_OPEN: "true" })));
      expect(messageOf(fromShell)).toBe('MCPGW_PORT: "81b" is not a TCP port');
      // A flag names itself.
      expect(messageOf(() => resolveSettings({ port: "x" }, readEnv(processEnvironment(dir.path, { MCPGW_AUDIT_FAIL_OPEN: "true" }))))).toBe(
        '--port: "x" is not a TCP port',
      );
    } finally {
      dir.remove();
    }
  });
});

/** The message of what fn throws. */
function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("expected an error");
}
