import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { DocumentInvalidError, type Problem } from "./problems.ts";
import { readDocument } from "./read-document.ts";

/** The problems a document has, as "LINE:COL PATH: message" strings. */
function problemsOf(text: string): string[] {
  try {
    readDocument(text, "doc.yaml", 0);
  } catch (err) {
    if (!(err instanceof DocumentInvalidError)) throw err;
    return err.problems.map((p: Problem) => `${p.position?.line}:${p.position?.col} ${p.path ? pathText(p.path) : "-"}: ${p.message}`);
  }
  throw new Error("the document was accepted");
}

const pathText = (path: readonly (string | number)[]) => path.map((s) => (typeof s === "number" ? `[${s}]` : `.${s}`)).join("");

describe("readDocument", () => {
  test("reads every section into what the CLI commands would have built", () => {
    const document = readDocument(
      `version: 1
roles:
  - name: analyst
    description: "reads: things"
    permissions:
      - allow: github/get_*
      - allow: fs/read_file[path^="/srv/data/"]
      - deny: "*"
bindings:
  - role: analyst
    subjects: [alice, "007"]
backends:
  - name: fs
    command: [npx, -y, "my server", "it's"]
    transport: stdio
    env: { ROOT: /srv, TOKEN: "\${FS_TOKEN}" }
    timeout: 90
    idempotentTools: [read_*, "list_files"]
  - name: gh
    url: https://mcp.example.com/mcp
    transport: sse
    headers:
      Authorization: Bearer \${GH}
    limits: { maxConcurrency: 4, maxQueue: "10", maxBody: 4MiB, maxResponse: 1536 }
limits:
  - { subject: alice, rate: 60/min }
  - { id: team.quota, role: intern, tool: "github/*", rate: 500/day, burst: "20" }
  - { global: true, rate: 200/s, burst: 50 }
`,
      "doc.yaml",
      1_000,
    );
    const { roles, bindings, backends, limits } = document.desired;
    expect(roles?.[0]).toMatchObject({ name: "analyst", description: "reads: things" });
    expect(roles?.[0]?.rules.map((r) => [r.effect, r.permission.kind, r.permission.backend, r.permission.name, r.permission.conditions])).toEqual([
      ["allow", "tool", "github", "get_*", []],
      ["allow", "tool", "fs", "read_file", [{ arg: "path", op: "^=", value: "/srv/data/" }]],
      ["deny", "tool", "*", "*", []],
    ]);
    expect(bindings).toEqual([
      { role: "analyst", subject: "alice" },
      { role: "analyst", subject: "007" },
    ]);
    expect(backends?.[0]).toEqual({
      name: "fs",
      transport: "stdio",
      command: ["npx", "-y", "my server", "it's"],
      env: { ROOT: "/srv", TOKEN: "${FS_TOKEN}" },
      headers: {},
      timeoutMs: 90_000,
      idempotentTools: ["read_*", "list_files"],
      createdAt: 1_000,
      updatedAt: 1_000,
    });
    expect(backends?.[1]).toMatchObject({
      transport: "sse",
      url: "https://mcp.example.com/mcp",
      headers: { Authorization: "Bearer ${GH}" },
      limits: { maxConcurrency: 4, maxQueue: 10, maxBodyBytes: 4_194_304, maxResponseBytes: 1536 },
    });
    expect(limits).toEqual([
      { scope: "subject", scopeValue: "alice", count: 60, periodMs: 60_000, burst: 60 },
      { id: "team.quota", scope: "role", scopeValue: "intern", toolPattern: "github/*", count: 500, periodMs: 86_400_000, burst: 20 },
      { scope: "global", count: 200, periodMs: 1_000, burst: 50 },
    ]);
  });

  test("the complete example in docs/declarative.md is a valid document", () => {
    const doc = readFileSync(new URL("../../docs/declarative.md", import.meta.url), "utf8");
    const example = /```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(example).toBeDefined();
    const { desired } = readDocument(example!, "docs/declarative.md");
    expect([desired.roles?.length, desired.bindings?.length, desired.backends?.length, desired.limits?.length]).toEqual([2, 3, 2, 3]);
  });

  test("a section left out is undefined (left alone); an empty list is declared (delete all)", () => {
    const { desired } = readDocument("version: 1\nbackends: []\n", "doc.yaml");
    expect(desired).toEqual({ backends: [] });
  });

  test("every problem is reported at once, each at the line and column of the field at fault", () => {
    const problems = problemsOf(`version: 1
roles:
  - name: ok
    permissions:
      - allow: github/*
  - name: ops
    descripton: typo
    permissions:
      - allow: github
      - deny: fs/x
        allow: fs/y
bindings:
  - role: ops
    subjects: [alice, 7, alice]
backends:
  - name: gh
    url: https://x.example.com/mcp
    timeout: forever
    headers:
      Accept: text/plain
  - name: Bad
    command: x
    idempotentTools: [ok_*, "bad glob"]
limits:
  - subject: alice
    role: x
    rate: 5/fortnight
  - rate: 1/s
    burst: 0
`);
    expect(problems).toEqual([
      '7:5 .roles[1].descripton: unknown field "descripton" in a role',
      '9:16 .roles[1].permissions[0].allow: permission "github" is not BACKEND/NAME',
      "10:9 .roles[1].permissions[1]: a permission has exactly one of allow or deny, not both",
      "14:23 .bindings[0].subjects[1]: a subject must be text, not the number 7",
      '14:26 .bindings[0].subjects[2]: subject "alice" is listed twice',
      '18:14 .backends[0].timeout: timeout: "forever" is not a duration',
      "20:15 .backends[0].headers.Accept: headers Accept is set by the MCP transport itself",
      '21:11 .backends[1].name: "Bad" is not a valid backend name',
      '23:29 .backends[1].idempotentTools[1]: idempotentTools "bad glob" is not a tool name or glob',
      "26:11 .limits[0].role: a limit is for one of subject, role or global, not subject and role",
      '27:11 .limits[0].rate: rate "5/fortnight" is not a rate',
      "28:5 .limits[1]: a limit needs one of subject, role or global",
      "29:12 .limits[1].burst: burst 0 is not a whole number ≥ 1",
    ]);
  });

  test("the message names file, line, column and field, with what to do", () => {
    try {
      readDocument("version: 1\nroles:\n  - name: a\n    permissions:\n      - allow: github\n", "mcpgw.yaml");
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(DocumentInvalidError);
      const { message, hint, exitCode } = err as DocumentInvalidError;
      expect(exitCode).toBe(2);
      expect(message).toContain(
        'mcpgw.yaml is not valid (1 error); nothing was applied\nmcpgw.yaml:5:16: roles[0].permissions[0].allow: permission "github" is not BACKEND/NAME\n  → write BACKEND/TOOL',
      );
      expect(hint).toContain("mcpgw apply --dry-run checks a document without changing anything");
    }
  });

  test("YAML syntax errors are reported at their line, with a hint for the usual ones", () => {
    expect(problemsOf("version: 1\nroles:\n  - name: a\n    permissions:\n      - allow: *\n")).toEqual([
      "5:16 -: YAML syntax: Alias cannot be an empty string",
    ]);
    expect(problemsOf("version: 1\nroles: []\nroles: []\n")).toEqual(["3:1 -: YAML syntax: Map keys must be unique"]);
    expect(problemsOf("version: 1\nroles:\n  - name: [a\n")[0]).toMatch(/^4:1 -: YAML syntax: /);
  });

  test("the document's shape: version, sections, unknown and empty keys", () => {
    expect(problemsOf("")).toEqual(["undefined:undefined : the document is empty"]);
    expect(problemsOf("- a\n")).toEqual(["1:1 : the document must be a mapping (field: value lines), not a list"]);
    expect(problemsOf("roles: []\n")).toEqual(["1:1 : version is missing"]);
    expect(problemsOf("version: 2\nroles: []\n")).toEqual(["1:10 .version: version 2 is not one this mcpgw reads"]);
    expect(problemsOf("version: 1\n")).toEqual(["1:1 : the document has no section to apply"]);
    expect(problemsOf("version: 1\nrole: []\nroles:\n")).toEqual(['2:1 .role: unknown field "role" in the document', "3:1 .roles: roles is empty"]);
    expect(problemsOf("version: 1\nroles: {name: a}\n")).toEqual(['2:8 .roles: roles must be a list (lines starting with "- "), not a mapping']);
  });

  test("duplicates and cross-field rules", () => {
    expect(
      problemsOf(`version: 1
roles:
  - name: a
  - name: a
bindings:
  - role: a
    subjects: []
  - role: a
backends:
  - name: x
    url: https://x.example.com/
    command: y
  - name: y
    url: https://y.example.com/
    env: { A: b }
  - name: z
    command: z
    limits: { maxQueue: 3 }
limits:
  - { id: q, global: true, rate: 1/s }
  - { id: q, global: true, rate: 2/s }
  - { id: "bad:id", global: true, rate: 2/s }
`),
    ).toEqual([
      '4:11 .roles[1].name: role "a" is declared twice (also roles[0])',
      "8:5 .bindings[1].subjects: subjects is required",
      '8:11 .bindings[1].role: role "a" has two binding entries (also bindings[0])',
      "11:10 .backends[0].url: give either url or command, not both",
      "15:10 .backends[1].env: env applies only to command (stdio) backends",
      "18:25 .backends[2].limits.maxQueue: limits.maxQueue needs limits.maxConcurrency",
      '21:11 .limits[1].id: limit id "q" is used twice (also limits[0])',
      '22:11 .limits[2].id: "bad:id" is not a valid limit id',
    ]);
  });

  test("pinning: each mode is read as backend add takes it; a wrong value names its field and the values", () => {
    const { desired } = readDocument("version: 1\nbackends:\n  - { name: fs, command: srv, pinning: { pinMode: explicit, driftMode: warn } }\n", "d");
    expect(desired.backends?.[0]?.pinning).toEqual({ pinMode: "explicit", driftMode: "warn" });
    expect(
      problemsOf(`version: 1
backends:
  - name: fs
    command: srv
    pinning:
      driftMode: blok
      suspicious: true
      pinmode: tofu
`),
    ).toEqual([
      '6:18 .backends[0].pinning.driftMode: drift mode "blok" is not one of block, warn, off',
      "7:19 .backends[0].pinning.suspicious: pinning.suspicious must be text, not the boolean true",
      '8:7 .backends[0].pinning.pinmode: unknown field "pinmode" in backend pinning',
    ]);
  });
});
