import { z } from "zod";
import { AUDIT_RECORD_STATUSES } from "../audit/audit-record.ts";
import { UNSETTABLE_SETTINGS } from "../backends/unsettable-settings.ts";
import { DRIFT_MODES, PIN_MODES, SUSPICIOUS_MODES } from "../pinning/pin-record.ts";

/**
 * The admin API's bodies (/v1/admin/…), as zod schemas: the handlers parse requests with them and
 * /openapi.json is generated from them. Request fields are named as the CLI's flags (`sub`,
 * `role`, `allow`, `removeRule`, `maxBody`…) and take the same text values ("1h", "100/min",
 * "KEY=VALUE"), so `mcpgw … --server URL` can send what it parsed as is.
 */

const iso = (what: string) => z.string().describe(`${what} (ISO 8601)`);
const patterns = (what: string) => z.array(z.string()).optional().describe(what);

/** `?dryRun=true` on a destructive route: the answer says what the change would do, and nothing changes. */
export const DryRunQuerySchema = z.strictObject({
  dryRun: z.enum(["true", "false"]).optional().describe("true: answer what would change, change nothing (the CLI asks before it deletes)"),
});

// ── access: roles, grants, tokens ────────────────────────────────────────────

export const RoleSchema = z
  .object({
    name: z.string(),
    description: z.string().optional(),
    allow: z.array(z.string()).describe("allow rules, as operators write them"),
    deny: z.array(z.string()).describe("deny rules"),
    subjects: z.array(z.string()).describe("subjects the role is granted to (mcpgw role grant)"),
    createdAt: iso("when it was created"),
  })
  .describe("A role: its rules and grants")
  .meta({
    examples: [
      {
        name: "ops",
        description: "runs the gateway",
        allow: ["admin:*", "github/*"],
        deny: ["github/delete_*"],
        subjects: ["alice"],
        createdAt: "2026-12-04T21:00:00.000Z",
      },
    ],
  });

export const RoleListSchema = z.object({ roles: z.array(RoleSchema) }).describe("Every role");

export const RoleChangedSchema = z
  .object({
    role: RoleSchema,
    warnings: z.array(z.string()).describe("patterns that name no registered backend (saved all the same)"),
  })
  .describe("The role as it is now");

export const CreateRoleBodySchema = z
  .strictObject({
    name: z.string().describe("1-64 letters, digits, and _ . : -"),
    allow: patterns("allow rules: BACKEND/TOOL globs, resource:…, prompt:…, method:…, admin:read|write|*"),
    deny: patterns("deny rules (deny wins)"),
    description: z.string().optional(),
  })
  .describe("A new role")
  .meta({ examples: [{ name: "ops", allow: ["admin:*"], description: "gateway operators" }] });

export const UpdateRoleBodySchema = z
  .strictObject({
    allow: patterns("allow rules to add"),
    deny: patterns("deny rules to add"),
    removeRule: patterns("rules to remove, as shown (allow or deny)"),
    description: z.string().optional().describe('a new description ("" removes it)'),
  })
  .describe("Rules to remove, then rules to add; grants stay");

export const DeletedRoleSchema = RoleSchema.extend({
  consequences: z.array(z.string()).describe("what went with it: its grants, live tokens left carrying its name"),
}).describe("The role as it was, and what went with it (with dryRun=true: what would go; nothing is deleted)");

export const GrantsSchema = z
  .object({ role: z.string(), subjects: z.array(z.string()).describe("the role's grants now") })
  .describe("A role's grants after the change");

export const TokenStatusSchema = z.enum(["active", "expired", "revoked"]);

export const TokenSchema = z
  .object({
    jti: z.string(),
    subject: z.string(),
    roles: z.array(z.string()),
    description: z.string().optional(),
    issuedAt: iso("issued"),
    expiresAt: iso("expires"),
    revokedAt: iso("revoked").optional(),
    status: TokenStatusSchema,
  })
  .describe("A token the gateway issued: its claims and state, never the token itself")
  .meta({
    examples: [
      {
        jti: "0193a5f2-7c1e-7d3a-9f0b-2c4d6e8f0a1b",
        subject: "alice",
        roles: ["ops"],
        issuedAt: "2026-12-04T21:00:00.000Z",
        expiresAt: "2026-12-04T22:00:00.000Z",
        status: "active",
      },
    ],
  });

export const TokenListSchema = z.object({ tokens: z.array(TokenSchema) }).describe("Every token, newest first");

export const IssuedTokenSchema = TokenSchema.extend({
  token: z.string().describe("the JWT: shown once, send it as `Authorization: Bearer <token>`"),
  kid: z.string(),
  issuer: z.string(),
  audience: z.string(),
})
  .describe("A new token and its claims (as `mcpgw token issue --json` prints it)")
  .meta({
    examples: [
      {
        token: "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhbGljZSJ9.c2ln",
        jti: "0193a5f2-7c1e-7d3a-9f0b-2c4d6e8f0a1b",
        subject: "alice",
        roles: ["ops"],
        issuedAt: "2026-12-04T21:00:00.000Z",
        expiresAt: "2026-12-04T22:00:00.000Z",
        status: "active",
        kid: "k1",
        issuer: "mcpgw",
        audience: "mcpgw",
      },
    ],
  });

export const IssueTokenBodySchema = z
  .strictObject({
    sub: z.string().describe("the subject (sub claim)"),
    role: z.array(z.string()).optional().describe("roles the token carries (each must exist)"),
    ttl: z.string().optional().describe('lifetime, e.g. "1h" (default 1h)'),
    description: z.string().optional(),
  })
  .describe("A token to issue")
  .meta({ examples: [{ sub: "ci-bot", role: ["deployer"], ttl: "8h", description: "CI" }] });

export const RevokeAllBodySchema = z
  .strictObject({ sub: z.string().describe("the subject whose live tokens to revoke") })
  .describe("Whose tokens to revoke (`mcpgw token revoke --all-for SUBJECT`)");

export const RevokedAllSchema = z
  .object({
    revoked: z
      .array(TokenSchema)
      .describe("the tokens revoked now (none when the subject had no live token); with dryRun=true the live tokens that would be, as they are"),
  })
  .describe("What was revoked; grants of roles to the subject stay");

export const RevokedTokenSchema = z.object({ token: TokenSchema, outcome: z.enum(["revoked", "already-revoked"]) }).describe("The token after revocation");

// ── backends ─────────────────────────────────────────────────────────────────

export const BackendSchema = z
  .object({
    name: z.string(),
    transport: z.enum(["stdio", "streamable-http", "sse"]),
    url: z.string().optional().describe("password hidden"),
    command: z.array(z.string()).optional(),
    env: z.record(z.string(), z.string()).describe("values that look secret redacted"),
    headers: z.record(z.string(), z.string()).describe("values that look secret redacted"),
    timeoutMs: z.number(),
    limits: z
      .object({
        maxConcurrency: z.number().optional(),
        maxQueue: z.number().optional(),
        maxBodyBytes: z.number().optional(),
        maxResponseBytes: z.number().optional(),
        maxProcesses: z.number().optional(),
      })
      .optional(),
    idempotentTools: z.array(z.string()).optional(),
    auth: z.looseObject({ mode: z.string() }).describe("static, or a per-caller mode with its options (never a secret)"),
    era: z.literal("auto"),
    createdAt: iso("registered"),
    updatedAt: iso("last changed"),
  })
  .describe("A backend as registered (secrets redacted)")
  .meta({
    examples: [
      {
        name: "github",
        transport: "streamable-http",
        url: "https://mcp.example.com/mcp",
        env: {},
        headers: { Authorization: "Bearer ${GITHUB_TOKEN}" },
        timeoutMs: 30000,
        auth: { mode: "static" },
        era: "auto",
        createdAt: "2026-12-04T21:00:00.000Z",
        updatedAt: "2026-12-04T21:00:00.000Z",
      },
    ],
  });

export const PinStateSchema = z
  .object({
    pinMode: z.enum(PIN_MODES),
    driftMode: z.enum(DRIFT_MODES),
    suspicious: z.enum(SUSPICIOUS_MODES),
    counts: z.record(z.string(), z.number()).describe("pins by status: pinned, drifted…"),
    flagged: z.number().describe("pins whose definition has suspicious text"),
    review: z
      .array(z.looseObject({ kind: z.string(), name: z.string(), status: z.string() }))
      .describe("definitions a person should review: drifted ones, and pinned ones with suspicious text no one approved (mcpgw backend diff)"),
  })
  .describe("The backend's tool-definition pinning: its modes and the state of its pins");

export const BackendWithPinsSchema = BackendSchema.extend({ pins: PinStateSchema }).describe("A backend as registered (secrets redacted) and its pinning");

export const BackendListSchema = z.object({ backends: z.array(BackendWithPinsSchema) }).describe("Every backend");

/** The pinning modes a backend has after a change that set them. */
const PinModesSchema = z
  .object({ pinMode: z.enum(PIN_MODES), driftMode: z.enum(DRIFT_MODES), suspicious: z.enum(SUSPICIOUS_MODES) })
  .describe("the pinning modes now, when the change set any");

export const ProbeSchema = z
  .object({
    backend: z.string(),
    transport: z.string(),
    server: z.object({ name: z.string(), version: z.string() }),
    era: z.enum(["legacy", "modern"]),
    protocolVersion: z.string().optional(),
    tools: z.array(z.string()),
    connectMs: z.number(),
  })
  .describe("What connecting to the backend found");

export const BackendChangedSchema = z
  .object({
    backend: BackendSchema,
    changed: z.array(z.string()).optional().describe("settings that changed, named as their flags"),
    dropped: z.array(z.string()).optional().describe("settings dropped by switching between url and command"),
    tested: ProbeSchema.optional().describe("absent when not tested (test: false, or per-caller credentials)"),
    pinning: PinModesSchema.optional(),
  })
  .describe("The backend as it is now");

const backendFields = {
  url: z.string().optional().describe("http(s) URL of a Streamable HTTP or SSE server"),
  transport: z.string().optional().describe("streamable-http (default) or sse, with url"),
  command: z.string().optional().describe('a stdio server\'s command line, e.g. "npx -y @modelcontextprotocol/server-everything"'),
  env: z.array(z.string()).optional().describe('"KEY=VALUE" items (stdio); ${VAR} references resolve where the gateway runs'),
  header: z.array(z.string()).optional().describe('"Name: value" items (HTTP)'),
  timeout: z.string().optional().describe('e.g. "30s"'),
  maxConcurrency: z.string().optional(),
  maxQueue: z.string().optional(),
  maxBody: z.string().optional().describe('e.g. "1MiB"'),
  maxResponse: z.string().optional(),
  maxProcesses: z.string().optional(),
  idempotentTool: z.array(z.string()).optional(),
  auth: z.string().optional().describe("static (default), gateway-assertion, token-exchange or per-subject-secret"),
  authHeader: z.string().optional(),
  assertionAudience: z.string().optional(),
  tokenEndpoint: z.string().optional().describe("token-exchange: the authorization server's token endpoint (https)"),
  exchangeAudience: z.string().optional(),
  exchangeScope: z.string().optional(),
  clientId: z.string().optional(),
  clientSecret: z.string().optional().describe("token-exchange: a '${VAR}' reference to the gateway's environment, never the value"),
  pinMode: z.enum(PIN_MODES).optional(),
  driftMode: z.enum(DRIFT_MODES).optional(),
  suspicious: z.enum(SUSPICIOUS_MODES).optional(),
  test: z.boolean().optional().describe("connect before saving (default true); a failed test saves nothing"),
};

export const AddBackendBodySchema = z
  .strictObject({ name: z.string().describe("letters, digits, _ and -"), ...backendFields })
  .describe("A backend to register, as `mcpgw backend add` takes it")
  .meta({ examples: [{ name: "everything", command: "npx -y @modelcontextprotocol/server-everything", timeout: "30s" }] });

export const UpdateBackendBodySchema = z
  .strictObject({ ...backendFields, unset: z.array(z.enum(UNSETTABLE_SETTINGS)).optional().describe("settings to return to their defaults") })
  .describe("Settings to change, as `mcpgw backend update` takes them");

export const RemovedBackendSchema = z
  .object({ backend: BackendSchema, unmatched: z.array(z.string()).describe("role and limit patterns that now match nothing") })
  .describe("The backend that was removed (with dryRun=true: the one that would be, and the patterns it would leave matching nothing)");

// ── limits ───────────────────────────────────────────────────────────────────

export const LimitSchema = z
  .object({
    id: z.string(),
    scope: z.enum(["subject", "role", "global"]),
    subject: z.string().optional(),
    role: z.string().optional(),
    tool: z.string(),
    rate: z.string(),
    burst: z.number(),
    createdAt: iso("created"),
  })
  .describe("A rate-limit rule")
  .meta({
    examples: [{ id: "lim_3f9a0c1d2e", scope: "subject", subject: "alice", tool: "*", rate: "100/min", burst: 100, createdAt: "2026-12-04T21:00:00.000Z" }],
  });

export const LimitListSchema = z.object({ limits: z.array(LimitSchema) }).describe("Every rate-limit rule");

export const LimitSetSchema = z
  .object({ limit: LimitSchema, replaced: z.array(LimitSchema).describe("rules of the same scope it replaced") })
  .describe("The rule in force now");

export const SetLimitBodySchema = z
  .strictObject({
    sub: z.string().optional(),
    role: z.string().optional(),
    global: z.boolean().optional(),
    tool: z.string().optional().describe("BACKEND/TOOL glob (default every tool)"),
    rate: z.string().describe('e.g. "100/min" (N/s, N/min, N/h, N/day)'),
    burst: z.string().optional().describe("calls at once (default the whole rate)"),
  })
  .describe("A rule, for exactly one of sub, role or global")
  .meta({ examples: [{ sub: "alice", rate: "100/min" }] });

export const UpdateLimitBodySchema = z.strictObject({ rate: z.string().optional(), burst: z.string().optional() }).describe("A new rate and/or burst");

// ── audit ────────────────────────────────────────────────────────────────────

const nullable = (schema: z.ZodType) => schema.nullable();

export const AuditRecordSchema = z
  .object({
    time: iso("when the call started"),
    finishedAt: nullable(z.string()),
    status: z.enum(AUDIT_RECORD_STATUSES),
    subject: nullable(z.string()),
    roles: z.array(z.string()),
    method: z.string().describe("the MCP method, or the admin action (admin/roles.create…)"),
    backend: nullable(z.string()),
    target: nullable(z.string()),
    requestId: nullable(z.string()),
    sessionId: nullable(z.string()),
    protocolVersion: nullable(z.string()),
    exchange: nullable(z.string()),
    credential: nullable(z.string()).describe("how the backend was authenticated to for this call (static, gateway-assertion…), never a value"),
    credentialId: nullable(z.string()).describe(
      "which credential: a per-subject secret's id, an exchanged token's or a gateway assertion's jti; never a value",
    ),
    client: z.object({ name: z.string().nullable(), version: z.string().nullable() }).nullable(),
    arguments: z.unknown().describe("redacted; an admin change holds {before, after}"),
    errorCode: nullable(z.number()),
    errorMessage: nullable(z.string()),
    durationMs: nullable(z.number()),
    bytesIn: nullable(z.number()),
    bytesOut: nullable(z.number()),
    decision: nullable(z.string()),
    rule: nullable(z.string()).describe("the rule that decided"),
    kind: z.string(),
    chain: z
      .object({
        id: z.string(),
        seq: z.number(),
        prevHash: z.string(),
        hash: z.string(),
        outcomeSeq: z.number().nullable(),
        outcomePrevHash: z.string().nullable(),
        outcomeHash: z.string().nullable(),
      })
      .describe("the record's position in its hash chain: GET /v1/admin/audit/{chain}/{seq} reads it"),
  })
  .describe("An audit record")
  .meta({
    examples: [
      {
        time: "2026-12-04T21:00:00.000Z",
        finishedAt: "2026-12-04T21:00:00.120Z",
        status: "ok",
        subject: "alice",
        roles: ["dev"],
        method: "tools/call",
        backend: "github",
        target: "search_issues",
        requestId: "7",
        sessionId: null,
        protocolVersion: "2025-11-25",
        exchange: null,
        credential: "static",
        credentialId: null,
        client: { name: "claude-code", version: "1.0.0" },
        arguments: { query: "is:open" },
        errorCode: null,
        errorMessage: null,
        durationMs: 120,
        bytesIn: 80,
        bytesOut: 2048,
        decision: "allowed",
        rule: "allow github/* (role dev)",
        kind: "call",
        chain: { id: "gw1.4f2a", seq: 41, prevHash: "ab12", hash: "cd34", outcomeSeq: 42, outcomePrevHash: "cd34", outcomeHash: "ef56" },
      },
    ],
  });

export const AuditPageSchema = z
  .object({ records: z.array(AuditRecordSchema), nextCursor: z.string().optional().describe("pass as ?cursor= for older records") })
  .describe("Audit records, newest first");

const timeBound = (what: string) => z.string().optional().describe(`${what}: a duration ago ("15m", "7d") or a date ("2026-12-01", "2026-12-01T12:00:00Z")`);

export const AuditQuerySchema = z.strictObject({
  since: timeBound("records of calls started at or after"),
  until: timeBound("records of calls started before"),
  subject: z.string().optional(),
  backend: z.string().optional(),
  tool: z.string().optional().describe("BACKEND/TOOL glob; without / a tool on any backend"),
  status: z.enum(AUDIT_RECORD_STATUSES).optional().describe("the outcome"),
  limit: z.coerce.number().int().min(1).max(1000).optional().describe("page size (default 100)"),
  cursor: z.string().optional(),
});

export const ChainReportSchema = z
  .object({
    chainId: z.string(),
    ok: z.boolean(),
    events: z.number(),
    from: z.number(),
    to: z.number(),
    break: z.object({ seq: z.number(), problem: z.string(), detail: z.string(), requestId: z.string().nullable().optional() }).optional(),
  })
  .describe("One chain's verification: its first break, if any");

export const AuditRecordDetailSchema = z
  .object({ record: AuditRecordSchema, verification: ChainReportSchema.describe("the chain verified from its start up to this record") })
  .describe("One record and whether its chain verifies up to it");

export const AuditVerifySchema = z.object({ ok: z.boolean(), chains: z.array(ChainReportSchema) }).describe("Every chain verified");
