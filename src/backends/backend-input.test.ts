import { describe, expect, test } from "vitest";
import { UsageError } from "../errors.ts";
import { type BackendInput, parseBackendInput, splitCommandLine } from "./backend-input.ts";
import { DEFAULT_BACKEND_TIMEOUT_MS } from "./backend-spec.ts";

const NOW = 1_700_000_000_000;

function usageError(input: BackendInput): UsageError {
  try {
    parseBackendInput(input, NOW);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return err as UsageError;
  }
  throw new Error("expected a UsageError");
}

describe("parseBackendInput", () => {
  test("a --url backend defaults to streamable-http and the default timeout", () => {
    expect(
      parseBackendInput({ name: "github", url: "https://api.example.com/mcp", header: ["Authorization: Bearer ${GH_TOKEN}", "X-Team:  core "] }, NOW),
    ).toEqual({
      name: "github",
      transport: "streamable-http",
      url: "https://api.example.com/mcp",
      env: {},
      headers: { Authorization: "Bearer ${GH_TOKEN}", "X-Team": "core" },
      timeoutMs: DEFAULT_BACKEND_TIMEOUT_MS,
      createdAt: NOW,
      updatedAt: NOW,
    });
  });

  test("--idempotent-tool takes tool names and globs, once each; anything else is a usage error", () => {
    const spec = parseBackendInput({ name: "gh", url: "https://api.example.com/mcp", idempotentTool: ["get_*", "search", "get_*"] }, NOW);
    expect(spec.idempotentTools).toEqual(["get_*", "search"]);
    expect(parseBackendInput({ name: "gh", url: "https://api.example.com/mcp" }, NOW).idempotentTools).toBeUndefined();
    expect(usageError({ name: "gh", url: "https://api.example.com/mcp", idempotentTool: ["gh/get_*"] }).message).toBe(
      '--idempotent-tool "gh/get_*" is not a tool name or glob',
    );
  });

  test("--max-processes caps a --command backend's processes (at least 2); an HTTP backend has none to cap", () => {
    expect(parseBackendInput({ name: "fs", command: "npx -y fs-server", maxProcesses: "4" }, NOW).limits).toEqual({ maxProcesses: 4 });
    expect(usageError({ name: "fs", command: "npx -y fs-server", maxProcesses: "1" }).message).toBe('--max-processes "1" is not a whole number ≥ 2');
    expect(usageError({ name: "fs", command: "npx -y fs-server", maxProcesses: "1" }).hint).toContain(
      "one process is always kept for the connection sessions share",
    );
    expect(usageError({ name: "fs", command: "npx -y fs-server", maxProcesses: "many" }).message).toBe('--max-processes "many" is not a whole number ≥ 2');
    expect(usageError({ name: "gh", url: "https://api.example.com/mcp", maxProcesses: "4" }).message).toBe(
      "--max-processes applies only to --command (stdio) backends",
    );
  });

  test("--transport sse and --timeout are taken", () => {
    const spec = parseBackendInput({ name: "legacy", url: "http://127.0.0.1:3001/sse", transport: "sse", timeout: "2m" }, NOW);
    expect(spec.transport).toBe("sse");
    expect(spec.timeoutMs).toBe(120_000);
  });

  test("a --command backend is stdio, with its words split and env parsed", () => {
    const spec = parseBackendInput(
      { name: "fs", command: `npx -y "@modelcontextprotocol/server-filesystem" '/my dir'`, env: ["TOKEN=${FS_TOKEN}", "EQ=a=b", "EMPTY="] },
      NOW,
    );
    expect(spec).toMatchObject({ transport: "stdio", command: ["npx", "-y", "@modelcontextprotocol/server-filesystem", "/my dir"] });
    expect(spec.env).toEqual({ TOKEN: "${FS_TOKEN}", EQ: "a=b", EMPTY: "" });
    expect(spec.url).toBeUndefined();
  });

  test.each<[string, BackendInput, RegExp, RegExp]>([
    ["both targets", { name: "x", url: "https://a.example", command: "prog" }, /either --url or --command, not both/, /--url URL .* --command/],
    ["no target", { name: "x" }, /needs --url or --command/, /--url URL/],
    ["bad name", { name: "Bad__Name", command: "prog" }, /not a valid backend name/, /lower-case/],
    ["reserved name", { name: "status", command: "prog" }, /"status" is reserved: the admin API's \/v1\/admin\/backends\/status/, /another name/],
    ["not a URL", { name: "x", url: "not a url" }, /is not a URL/, /https:\/\/mcp\.example\.com/],
    ["not http", { name: "x", url: "ftp://files.example.com" }, /not an http\(s\) URL/, /absolute http\(s\) URL/],
    ["stdio transport with url", { name: "x", url: "https://a.example", transport: "stdio" }, /not an HTTP transport/, /streamable-http or --transport sse/],
    ["transport with command", { name: "x", command: "prog", transport: "sse" }, /--transport applies only with --url/, /drop --transport/],
    ["header with command", { name: "x", command: "prog", header: ["A: b"] }, /--header applies only to --url/, /--env KEY=VALUE/],
    ["env with url", { name: "x", url: "https://a.example", env: ["A=b"] }, /--env applies only to --command/, /--header/],
    ["env without =", { name: "x", command: "prog", env: ["sk-live-123"] }, /without "="/, /--env KEY=VALUE/],
    ["env bad key", { name: "x", command: "prog", env: ["1A=b"] }, /key "1A" is not a variable name/, /KEY=VALUE/],
    ["env twice", { name: "x", command: "prog", env: ["A=1", "A=2"] }, /given twice/, /once/],
    [
      "header without colon",
      { name: "x", url: "https://a.example", header: ["Authorization Bearer sk"] },
      /is not "Name: value"/,
      /Authorization: Bearer \$\{API_KEY\}/,
    ],
    ["header bad name", { name: "x", url: "https://a.example", header: ["Bad Name: v"] }, /is not "Name: value"/, /valid header name/],
    ["header empty", { name: "x", url: "https://a.example", header: ["X-A:  "] }, /empty or multi-line/, /one-line/],
    ["header reserved", { name: "x", url: "https://a.example", header: ["Mcp-Session-Id: 1"] }, /set by the MCP transport/, /drop/],
    ["header twice", { name: "x", url: "https://a.example", header: ["X-A: 1", "x-a: 2"] }, /given twice/, /once/],
    ["timeout not a duration", { name: "x", command: "prog", timeout: "soon" }, /--timeout: "soon" is not a duration/, /30s/],
    ["timeout zero", { name: "x", command: "prog", timeout: "0s" }, /out of range/, /at most 1h/],
    ["timeout too long", { name: "x", command: "prog", timeout: "2h" }, /out of range/, /at most 1h/],
    ["empty command", { name: "x", command: "   " }, /--command is empty/, /--command "npx/],
    ["unterminated quote", { name: "x", command: `prog "arg` }, /unterminated double quote/, /close the quote/],
  ])("%s is a usage error saying what to do", (_label, input, message, hint) => {
    const error = usageError(input);
    expect(error.exitCode).toBe(2);
    expect(error.message).toMatch(message);
    expect(error.hint).toMatch(hint);
  });

  test("a secret in a malformed --env or --header is not echoed", () => {
    expect(usageError({ name: "x", command: "prog", env: ["sk-live-123"] }).message).not.toContain("sk-live-123");
    expect(usageError({ name: "x", url: "https://a.example", header: ["sk-live-123"] }).message).not.toContain("sk-live-123");
    expect(usageError({ name: "x", url: "https://a.example", header: ["X-A: a\nsk-live-123"] }).message).not.toContain("sk-live-123");
  });
});

describe("splitCommandLine", () => {
  test.each<[string, string[]]>([
    ["prog", ["prog"]],
    ["  prog   a\tb  ", ["prog", "a", "b"]],
    [`prog 'a b' "c d"`, ["prog", "a b", "c d"]],
    [`prog a\\ b`, ["prog", "a b"]],
    [`prog "say \\"hi\\"" 'it''s'`, ["prog", 'say "hi"', "its"]],
    [`prog "a\\nb" 'c\\d'`, ["prog", "a\\nb", "c\\d"]],
    [`prog '' ""`, ["prog", "", ""]],
    [`prog --opt="x y"z`, ["prog", "--opt=x yz"]],
    ["prog $HOME", ["prog", "$HOME"]],
  ])("%s", (text, words) => {
    expect(splitCommandLine(text)).toEqual(words);
  });

  test("a trailing lone backslash and an unterminated single quote are usage errors", () => {
    expect(() => splitCommandLine("prog \\")).toThrow(/lone backslash/);
    expect(() => splitCommandLine("prog 'a")).toThrow(/unterminated single quote/);
  });
});
