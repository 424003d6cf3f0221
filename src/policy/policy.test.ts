import { describe, expect, test } from "vitest";
import { UsageError } from "../errors.ts";
import { ADMIN_BACKEND, formatPermission, parsePermission } from "./permission.ts";
import { type Effect, Policy, type Target } from "./policy.ts";

function role(name: string, rules: [Effect, string][]) {
  return { name, rules: rules.map(([effect, text]) => ({ effect, permission: parsePermission(text) })) };
}

const policy = new Policy({
  roles: [
    role("reader", [
      ["allow", "github/get_*"],
      ["allow", "*/read_*"],
      ["allow", "resource:docs/file:///srv/docs/*"],
      ["allow", "prompt:*/summarize"],
    ]),
    role("dev", [
      ["allow", "github/*"],
      ["deny", "github/delete_*"],
    ]),
    role("fs", [
      ["allow", 'fs/read_file[path^="/srv/data/"]'],
      ["allow", 'fs/write_file[path^="/tmp/"][mode="text"]'],
      ["deny", 'fs/read_file[path$=".key"]'],
    ]),
    role("admin", [
      ["allow", "*"],
      ["allow", "resource:*"],
      ["allow", "prompt:*"],
      ["allow", "method:*"],
    ]),
    role("no-prompts", [["deny", "prompt:*"]]),
  ],
  bindings: [{ role: "dev", subject: "carol" }],
});

const tool = (backend: string, name: string): Target => ({ kind: "tool", backend, name });

describe("policy decisions", () => {
  test.each<[string, string[], Target, unknown, boolean, RegExp]>([
    ["glob on tool name", ["reader"], tool("github", "get_issue"), {}, true, /allow github\/get_\* \(role reader\)/],
    ["glob on backend", ["reader"], tool("jira", "read_ticket"), {}, true, /allow \*\/read_\*/],
    ["default deny", ["reader"], tool("github", "create_issue"), {}, false, /default deny/],
    ["no roles: default deny", [], tool("github", "get_issue"), {}, false, /default deny/],
    ["unknown role grants nothing", ["ghost"], tool("github", "get_issue"), {}, false, /default deny/],
    ["allow within a role", ["dev"], tool("github", "create_issue"), {}, true, /allow github\/\*/],
    ["deny wins in the same role", ["dev"], tool("github", "delete_repo"), {}, false, /deny github\/delete_\* \(role dev\)/],
    ["deny wins over another role's allow", ["admin", "dev"], tool("github", "delete_repo"), {}, false, /deny github\/delete_\*/],
    ["'*' allows every tool", ["admin"], tool("anything", "at_all"), {}, true, /allow \*/],
    ["a tool rule does not allow a resource", ["dev"], { kind: "resource", backend: "github", name: "repo://x" }, {}, false, /default deny/],
    ["resource glob", ["reader"], { kind: "resource", backend: "docs", name: "file:///srv/docs/a/b.md" }, {}, true, /resource:docs/],
    ["resource outside the glob", ["reader"], { kind: "resource", backend: "docs", name: "file:///etc/passwd" }, {}, false, /default deny/],
    ["prompt glob", ["reader"], { kind: "prompt", backend: "any", name: "summarize" }, {}, true, /prompt:\*\/summarize/],
    ["prompt deny over admin", ["admin", "no-prompts"], { kind: "prompt", backend: "x", name: "y" }, {}, false, /deny prompt:\*/],
    ["condition holds", ["fs"], tool("fs", "read_file"), { path: "/srv/data/report.csv" }, true, /allow fs\/read_file\[path\^="\/srv\/data\/"\]/],
    ["condition fails", ["fs"], tool("fs", "read_file"), { path: "/etc/passwd" }, false, /its argument conditions do not hold/],
    ["condition: .. segment refused", ["fs"], tool("fs", "read_file"), { path: "/srv/data/../../etc/passwd" }, false, /conditions do not hold/],
    ["condition: missing argument refused", ["fs"], tool("fs", "read_file"), {}, false, /conditions do not hold/],
    ["condition: non-string argument refused", ["fs"], tool("fs", "read_file"), { path: ["/srv/data/x"] }, false, /conditions do not hold/],
    ["two conditions both needed", ["fs"], tool("fs", "write_file"), { path: "/tmp/x", mode: "binary" }, false, /conditions do not hold/],
    ["two conditions both hold", ["fs"], tool("fs", "write_file"), { path: "/tmp/x", mode: "text" }, true, /allow fs\/write_file/],
    ["conditional deny applies when it holds", ["fs"], tool("fs", "read_file"), { path: "/srv/data/tls.key" }, false, /deny fs\/read_file\[path\$="\.key"\]/],
    ["method kind", ["admin"], { kind: "method", backend: "x", name: "custom/thing" }, {}, true, /method:\*/],
    ["method kind needs its own rule", ["dev"], { kind: "method", backend: "github", name: "custom/thing" }, {}, false, /default deny/],
  ])("%s", (_name, roles, target, args, allowed, rule) => {
    const decision = policy.decide(roles, target, args);
    expect(decision.allowed).toBe(allowed);
    expect(decision.rule).toMatch(rule);
  });

  test("roles are the token's plus the subject's bindings", () => {
    expect(policy.rolesOf("carol", ["reader"]).sort()).toEqual(["dev", "reader"]);
    expect(policy.rolesOf("dave", ["reader"])).toEqual(["reader"]);
  });

  test("visibility in lists: allowed tools shown (conditions aside), unconditionally denied ones hidden", () => {
    expect(policy.visible(["dev"], tool("github", "create_issue"))).toBe(true);
    expect(policy.visible(["dev"], tool("github", "delete_repo"))).toBe(false);
    expect(policy.visible(["fs"], tool("fs", "read_file"))).toBe(true);
    expect(policy.visible(["reader"], tool("github", "create_issue"))).toBe(false);
  });
});

describe("permission syntax", () => {
  test.each([
    ["github/*", { kind: "tool", backend: "github", name: "*", conditions: [] }],
    ["tool:github/get_*", { kind: "tool", backend: "github", name: "get_*", conditions: [] }],
    ["*", { kind: "tool", backend: "*", name: "*", conditions: [] }],
    ["resource:fs/file:///srv/*", { kind: "resource", backend: "fs", name: "file:///srv/*", conditions: [] }],
    ["prompt:*/summarize", { kind: "prompt", backend: "*", name: "summarize", conditions: [] }],
    ['fs/read_file[path^="/srv/data/"]', { kind: "tool", backend: "fs", name: "read_file", conditions: [{ arg: "path", op: "^=", value: "/srv/data/" }] }],
    [
      "fs/write[mode=text][path^=/tmp/]",
      {
        kind: "tool",
        backend: "fs",
        name: "write",
        conditions: [
          { arg: "mode", op: "=", value: "text" },
          { arg: "path", op: "^=", value: "/tmp/" },
        ],
      },
    ],
    ['api/call[url*="example.com"]', { kind: "tool", backend: "api", name: "call", conditions: [{ arg: "url", op: "*=", value: "example.com" }] }],
    ["resource:db/table[[]x]", { kind: "resource", backend: "db", name: "table[[]x]", conditions: [] }],
  ])("%s", (text, expected) => {
    const parsed = parsePermission(text);
    expect(parsed).toEqual(expected);
    expect(parsePermission(formatPermission(parsed))).toEqual(parsed);
  });

  test.each(["github", "/tool", "github/", "", 'fs/read[path^"x"]', "fs/read[path=]x"])("rejects %j with the syntax", (text) => {
    expect(() => parsePermission(text)).toThrow(UsageError);
  });
});

describe("admin permissions", () => {
  const admins = new Policy({
    roles: [
      role("ops", [["allow", "admin:*"]]),
      role("auditor", [["allow", "admin:read"]]),
      role("everything", [
        ["allow", "*"],
        ["allow", "method:*"],
      ]),
      role("no-writes", [["deny", "admin:write"]]),
    ],
    bindings: [],
  });
  const admin = (name: string): Target => ({ kind: "admin", backend: ADMIN_BACKEND, name });

  test.each<[string, string[], string, boolean, RegExp]>([
    ["admin:* allows reading", ["ops"], "read", true, /allow admin:\* \(role ops\)/],
    ["admin:* allows writing", ["ops"], "write", true, /allow admin:\*/],
    ["admin:read allows reading", ["auditor"], "read", true, /allow admin:read/],
    ["admin:read does not allow writing", ["auditor"], "write", false, /default deny/],
    ["tool and method wildcards grant no admin permission", ["everything"], "read", false, /default deny/],
    ["deny admin:write wins over admin:*", ["ops", "no-writes"], "write", false, /deny admin:write \(role no-writes\)/],
  ])("%s", (_name, roles, permission, allowed, rule) => {
    const decision = admins.decide(roles, admin(permission));
    expect(decision.allowed).toBe(allowed);
    expect(decision.rule).toMatch(rule);
  });

  test.each(["admin:read", "admin:write", "admin:*", "admin:?ead"])("%s round-trips", (text) => {
    const parsed = parsePermission(text);
    expect(parsed.kind).toBe("admin");
    expect(formatPermission(parsed)).toBe(text);
  });

  test.each(["admin:delete", "admin:", "admin:read[x=1]", "admin:Read", "admin:gateway/read"])("rejects %j, naming the admin permissions", (text) => {
    const error = (() => {
      try {
        parsePermission(text);
      } catch (err) {
        return err as UsageError;
      }
    })();
    expect(error).toBeInstanceOf(UsageError);
    expect(error?.hint).toMatch(/admin:read.*admin:write.*admin:\*/);
  });
});
