import { describe, expect, test } from "vitest";
import { splitCommandLine } from "../backends/backend-input.ts";
import { parseDuration } from "../config/duration.ts";
import { parseSize } from "../config/size.ts";
import { parsePermission } from "../policy/permission.ts";
import type { GatewayState } from "./gateway-state.ts";
import { planChanges } from "./plan-changes.ts";
import { readDocument } from "./read-document.ts";
import { exactDuration, exactSize, quoteCommandWord } from "./value-formats.ts";
import { writeDocument } from "./write-document.ts";

const T0 = 1_700_000_000_000;

/** A state with the awkward values: quotes, spaces, look-alike numbers and booleans, odd durations and sizes. */
const state: GatewayState = {
  roles: [
    { name: "admin", rules: [{ effect: "allow", permission: parsePermission("*") }] },
    {
      name: "analyst",
      description: 'reads: "things" # not a comment',
      rules: [
        { effect: "allow", permission: parsePermission('fs/read_file[path^="/srv/d\\"ata/"][mode="r"]') },
        { effect: "allow", permission: parsePermission("resource:docs/file:///srv/*") },
        { effect: "deny", permission: parsePermission("github/delete_*") },
      ],
    },
    { name: "empty", description: "", rules: [] },
  ],
  bindings: [
    { role: "admin", subject: "root" },
    { role: "analyst", subject: "007" },
    { role: "analyst", subject: "true" },
  ],
  backends: [
    {
      name: "fs",
      transport: "stdio",
      command: ["npx", "-y", "my server", "it's", "", "$HOME", "a\\b"],
      env: { ZED: "yes", ALPHA: "${ALPHA}", EMPTY_LOOKING: "null", NUM: "8080" },
      headers: {},
      timeoutMs: 12_345,
      limits: { maxConcurrency: 2, maxQueue: 7, maxBodyBytes: 1536, maxResponseBytes: 8 * 1_048_576, maxProcesses: 6 },
      idempotentTools: ["read_*", "get_file"],
      pinning: { pinMode: "explicit", driftMode: "warn", suspicious: "block" },
      createdAt: T0,
      updatedAt: T0,
    },
    {
      name: "web",
      transport: "sse",
      url: "https://user:secret@web.example.com/mcp?x=1",
      env: {},
      headers: { "X-Key": "literal-secret", Authorization: "Bearer ${TOKEN}" },
      timeoutMs: 5_400_000 / 2,
      createdAt: T0,
      updatedAt: T0,
    },
    // Per-caller credentials: an export that dropped them would turn the backend static on apply.
    {
      name: "tickets",
      transport: "streamable-http",
      url: "https://tickets.example.com/mcp",
      env: {},
      headers: {},
      timeoutMs: 30_000,
      auth: { mode: "gateway-assertion", header: "X-Caller", audience: "tickets" },
      createdAt: T0,
      updatedAt: T0,
    },
    {
      name: "exchanged",
      transport: "streamable-http",
      url: "https://reports.example.com/mcp",
      env: {},
      headers: {},
      timeoutMs: 30_000,
      auth: {
        mode: "token-exchange",
        tokenEndpoint: "https://idp.example.com/token",
        audience: "reports",
        scope: "reports:read",
        clientId: "mcpgw",
        clientSecret: "${REPORTS_SECRET}",
        header: "X-Report-Token",
      },
      createdAt: T0,
      updatedAt: T0,
    },
  ],
  limits: [
    { id: "lim_0123456789", scope: "subject", scopeValue: "alice", count: 60, periodMs: 60_000, burst: 60, createdAt: T0 },
    { id: "interns", scope: "role", scopeValue: "intern", toolPattern: "github/*", count: 500, periodMs: 86_400_000, burst: 20, createdAt: T0 + 1 },
    { id: "all", scope: "global", count: 200, periodMs: 1_000, burst: 50, createdAt: T0 + 2 },
  ],
};

describe("writeDocument", () => {
  test("what it writes reads back as exactly the state: applying an export is a no-op", () => {
    const text = writeDocument(state);
    const { desired } = readDocument(text, "export.yaml", T0);
    expect(planChanges(state, desired, { now: T0 + 10 })).toEqual([]);
    // Stable: the same state gives the same text.
    expect(writeDocument(state)).toBe(text);
  });

  test("reads like a hand-written document", () => {
    const text = writeDocument(state);
    expect(text).toContain('version: 1\nroles:\n  - name: admin\n    permissions:\n      - allow: "*"\n');
    expect(text).toContain('  - role: analyst\n    subjects: ["007", "true"]\n');
    expect(text).toContain('    env:\n      ALPHA: ${ALPHA}\n      EMPTY_LOOKING: "null"\n      NUM: "8080"\n      ZED: "yes"\n');
    expect(text).toContain(
      "    timeout: 12345ms\n    limits:\n      maxConcurrency: 2\n      maxQueue: 7\n      maxBody: 1536\n      maxResponse: 8MiB\n      maxProcesses: 6\n    idempotentTools:\n      - read_*\n      - get_file\n",
    );
    expect(text).toContain("      - get_file\n    pinning:\n      pinMode: explicit\n      driftMode: warn\n      suspicious: block\n");
    expect(readDocument(text, "export.yaml", T0).desired.backends?.[0]?.pinning).toEqual({ pinMode: "explicit", driftMode: "warn", suspicious: "block" });
    expect(text).toContain("    url: https://user:secret@web.example.com/mcp?x=1\n    transport: sse\n");
    expect(text).toContain("  - id: lim_0123456789\n    subject: alice\n    rate: 60/min\n  - id: interns\n");
    expect(text).toContain("  - id: all\n    global: true\n    rate: 200/s\n    burst: 50\n");
  });

  test("an empty state is a document that deletes everything it manages", () => {
    expect(writeDocument({ roles: [], bindings: [], backends: [], limits: [] })).toContain("version: 1\nroles: []\nbindings: []\nbackends: []\nlimits: []\n");
  });
});

describe("exact value formats", () => {
  test("durations and sizes parse back to the same number", () => {
    for (const ms of [1, 999, 1_000, 12_345, 90_000, 3_600_000, 5_400_000, 86_400_000]) expect(parseDuration(exactDuration(ms), "t")).toBe(ms);
    for (const bytes of [1, 1_000, 1_024, 1_536, 4_194_304, 1_048_577]) expect(parseSize(String(exactSize(bytes)), "s")).toBe(bytes);
    expect([exactDuration(3_600_000), exactDuration(90_000), exactDuration(250)]).toEqual(["1h", "90s", "250ms"]);
  });

  test("command words survive quoting and the shell-like split", () => {
    const words = ["npx", "-y", "@scope/pkg", "my dir", "it's", "", "$X", "a\\b", 'say "hi"', "tab\there"];
    expect(splitCommandLine(words.map(quoteCommandWord).join(" "))).toEqual(words);
  });
});
