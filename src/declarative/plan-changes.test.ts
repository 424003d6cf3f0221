import { describe, expect, test } from "vitest";
import type { BackendSpec } from "../backends/backend-spec.ts";
import type { LimitRule } from "../limits/limit-rule.ts";
import { parsePermission } from "../policy/permission.ts";
import type { RoleDefinition } from "../policy/policy.ts";
import type { Change, GatewayState } from "./gateway-state.ts";
import { checkReferences, planChanges } from "./plan-changes.ts";
import { readDocument } from "./read-document.ts";

const T0 = 1_700_000_000_000;
const NOW = 1_800_000_000_000;

const role = (name: string, ...patterns: string[]): RoleDefinition => ({
  name,
  rules: patterns.map((text) =>
    text.startsWith("!") ? { effect: "deny", permission: parsePermission(text.slice(1)) } : { effect: "allow", permission: parsePermission(text) },
  ),
});
const backend = (name: string, extra: Partial<BackendSpec> = {}): BackendSpec => ({
  name,
  transport: "stdio",
  command: ["srv", name],
  env: {},
  headers: {},
  timeoutMs: 30_000,
  createdAt: T0,
  updatedAt: T0,
  ...extra,
});
const limit = (id: string, extra: Partial<LimitRule> = {}): LimitRule => ({
  id,
  scope: "subject",
  scopeValue: "alice",
  count: 60,
  periodMs: 60_000,
  burst: 60,
  createdAt: T0,
  ...extra,
});

const current: GatewayState = {
  roles: [role("dev", "github/*", "!github/delete_*"), role("old", "*")],
  bindings: [
    { role: "dev", subject: "alice" },
    { role: "old", subject: "bob" },
  ],
  backends: [backend("fs"), backend("gone")],
  limits: [limit("lim_alice"), limit("named", { scope: "global", scopeValue: undefined, count: 10, burst: 10, periodMs: 1_000 })],
};

/** Plans a document (YAML) against `current`; changes as "action kind name [fields]". */
function plan(yaml: string, state: GatewayState = current): string[] {
  return summary(planChanges(state, readDocument(`version: 1\n${yaml}`, "doc.yaml", NOW).desired, { now: NOW }));
}
const summary = (changes: Change[]) => changes.map((c) => `${c.action} ${c.kind} ${c.name}${c.action === "update" ? ` [${c.fields.join(",")}]` : ""}`);

describe("planChanges", () => {
  test("a document that matches the state plans nothing", () => {
    expect(
      plan(`roles:
  - { name: dev, permissions: [{ allow: "github/*" }, { deny: "github/delete_*" }] }
  - { name: old, permissions: [{ allow: "*" }] }
bindings:
  - { role: dev, subjects: [alice] }
  - { role: old, subjects: [bob] }
backends:
  - { name: fs, command: srv fs }
  - { name: gone, command: [srv, gone], timeout: 30s }
limits:
  - { subject: alice, rate: 60/min }
  - { id: named, global: true, rate: 10/s }
`),
    ).toEqual([]);
  });

  test("declared sections are reconciled: creates, updates (with the fields) and deletions", () => {
    expect(
      plan(`roles:
  - { name: dev, description: developers, permissions: [{ allow: "github/*" }] }
  - { name: new, permissions: [{ allow: "fs/*" }] }
bindings:
  - { role: dev, subjects: [alice, carol] }
backends:
  - { name: fs, command: srv fs, timeout: 1m, env: { A: "\${A}" } }
  - { name: web, url: "https://web.example.com/mcp" }
limits:
  - { id: named, global: true, rate: 20/s, burst: 5 }
`),
    ).toEqual([
      "update role dev [description,permissions]",
      "create role new",
      "delete role old",
      "create binding dev → carol",
      "delete binding old → bob",
      "update backend fs [env,timeout]",
      "create backend web",
      "delete backend gone",
      "update limit named [rate,burst]",
      "delete limit lim_alice",
    ]);
  });

  test("a section absent from the document is left alone; a deleted role still takes its grants", () => {
    expect(plan("backends:\n  - { name: fs, command: srv fs }\n")).toEqual(["delete backend gone"]);
    expect(plan('roles:\n  - { name: dev, permissions: [{ allow: "github/*" }, { deny: "github/delete_*" }] }\n')).toEqual([
      "delete role old",
      "delete binding old → bob",
    ]);
    expect(plan("bindings: []\n")).toEqual(["delete binding dev → alice", "delete binding old → bob"]);
  });

  test("rule order is part of a role (it decides which allow an audit record names)", () => {
    expect(
      plan('roles:\n  - { name: dev, permissions: [{ deny: "github/delete_*" }, { allow: "github/*" }] }\n  - { name: old, permissions: [{ allow: "*" }] }\n'),
    ).toEqual(["update role dev [permissions]"]);
  });

  test("limits without an id match by content, so applying twice changes nothing; ids are derived from content", () => {
    const state: GatewayState = { ...current, limits: [] };
    const doc = "limits:\n  - { role: intern, rate: 5/min }\n  - { role: intern, rate: 5/min }\n  - { id: mine, global: true, rate: 1/s }\n";
    const first = planChanges(state, readDocument(`version: 1\n${doc}`, "d", NOW).desired, { now: NOW });
    const created = first.flatMap((c) => (c.action === "create" && c.kind === "limit" ? [c.after] : []));
    expect(created.map((rule) => rule.createdAt)).toEqual([NOW, NOW + 1, NOW + 2]);
    expect(created[2]?.id).toBe("mine");
    expect(created[0]?.id).toMatch(/^lim_[0-9a-f]{10}$/);
    expect(new Set(created.map((rule) => rule.id)).size).toBe(3);
    // The same document planned again gives the same ids (a dry run shows what the apply will name them).
    expect(summary(planChanges(state, readDocument(`version: 1\n${doc}`, "d", NOW).desired, { now: NOW }))).toEqual(summary(first));
    expect(plan(doc, { ...state, limits: created })).toEqual([]);
  });

  test("a limit id claimed by the document is matched by id even when another rule has its content", () => {
    const state: GatewayState = { ...current, limits: [limit("a"), limit("b", { scopeValue: "bob" })] };
    expect(plan("limits:\n  - { id: b, subject: alice, rate: 60/min }\n  - { subject: alice, rate: 60/min }\n", state)).toEqual(["update limit b [subject]"]);
  });

  test("an update keeps what the document does not say: creation time, and the stored id", () => {
    const [change] = planChanges(
      current,
      { backends: [{ ...backend("fs"), timeoutMs: 5_000, createdAt: NOW, updatedAt: NOW }, backend("gone")] },
      { now: NOW },
    );
    expect(change).toMatchObject({ action: "update", after: { createdAt: T0, updatedAt: NOW, timeoutMs: 5_000 } });
  });

  test("pinning modes: a mode the document gives that differs is an update of pinning.<mode>; one it leaves out stays", () => {
    const pinned: GatewayState = {
      ...current,
      backends: [{ ...backend("fs"), pinning: { pinMode: "tofu", driftMode: "warn", suspicious: "flag" } }, backend("gone")],
    };
    const fs = (pinning: string) => `backends:\n  - { name: fs, command: srv fs${pinning} }\n  - { name: gone, command: srv gone }\n`;
    expect(plan(fs(""), pinned)).toEqual([]);
    expect(plan(fs(", pinning: { driftMode: warn }"), pinned)).toEqual([]);
    expect(plan(fs(", pinning: { driftMode: block, suspicious: block }"), pinned)).toEqual(["update backend fs [pinning.driftMode,pinning.suspicious]"]);
    // A backend with no modes set has the defaults: tofu, block, flag.
    expect(plan(fs(""), current)).toEqual([]);
    expect(plan(fs(", pinning: { pinMode: tofu, driftMode: block, suspicious: flag }"), current)).toEqual([]);
    expect(plan(fs(", pinning: { pinMode: explicit }"), current)).toEqual(["update backend fs [pinning.pinMode]"]);
  });
});

describe("checkReferences", () => {
  test("a binding must name a role that exists after the apply", () => {
    const withRoles = readDocument(
      "version: 1\nroles:\n  - { name: dev }\nbindings:\n  - { role: dev, subjects: [a] }\n  - { role: old, subjects: [b] }\n",
      "d",
    );
    expect(checkReferences(withRoles.roleReferences, current, withRoles.desired)).toEqual([
      expect.objectContaining({ path: ["bindings", 1, "role"], message: 'role "old" is not in this document\'s roles' }),
    ]);
    const bindingsOnly = readDocument("version: 1\nbindings:\n  - { role: old, subjects: [b] }\n  - { role: ghost, subjects: [c] }\n", "d");
    expect(checkReferences(bindingsOnly.roleReferences, current, bindingsOnly.desired)).toEqual([
      expect.objectContaining({ path: ["bindings", 1, "role"], message: 'there is no role "ghost"' }),
    ]);
  });
});
