import { z } from "zod";
import { AUDIT_RECORD_STATUSES } from "../audit/audit-record.ts";
import { MAX_MINUTES } from "../observability/call-stats.ts";
import { TARGET_KINDS } from "../policy/permission.ts";

/**
 * Bodies of the admin API's live views (/v1/admin/calls/stream, /stats, /policy/check,
 * /limits/usage): the handlers parse requests with them and /openapi.json is generated from them.
 */

const iso = (what: string) => z.string().describe(`${what} (ISO 8601)`);

// ── the live stream of calls ─────────────────────────────────────────────────

export const CallStreamQuerySchema = z.strictObject({
  subject: z.string().optional().describe("only this subject's calls"),
  backend: z.string().optional().describe("only calls to this backend"),
  status: z.enum(AUDIT_RECORD_STATUSES).optional().describe("only calls that ended so (ok, error, denied, rate_limited, …)"),
});

export const CallEventSchema = z
  .object({
    ts: iso("when the call ended or was refused"),
    subject: z.string().nullable(),
    roles: z.array(z.string()),
    client: z.string().nullable().describe("the MCP client's name"),
    backend: z.string().nullable(),
    method: z.string().describe("tools/call, resources/read, prompts/get, … (for a refusal: any method)"),
    target: z.string().nullable().describe("the tool, resource URI or prompt, as the backend names it"),
    status: z.enum(AUDIT_RECORD_STATUSES).describe("the audit outcome's status"),
    latencyMs: z.number().nullable().describe("how long the call took; null for a refusal"),
    errorCode: z.number().nullable(),
    errorMessage: z.string().nullable(),
    rule: z.string().nullable().describe("the policy rule that decided"),
  })
  .describe("One call or refusal: the data of an `event: call` of the live stream (GET /v1/admin/calls/stream)")
  .meta({
    examples: [
      {
        ts: "2026-12-05T21:00:00.000Z",
        subject: "alice",
        roles: ["dev"],
        client: "claude-code",
        backend: "github",
        method: "tools/call",
        target: "create_issue",
        status: "ok",
        latencyMs: 182.4,
        errorCode: null,
        errorMessage: null,
        rule: "allow github/* (role dev)",
      },
    ],
  });

export const CALL_STREAM_DESCRIPTION = [
  "Server-Sent Events (`text/event-stream`): each call and refusal that this gateway process audits, as it ends, as",
  "`event: call` with `data:` one JSON object (the CallEvent schema: ts, subject, roles, client, backend, method, target,",
  "status, latencyMs, errorCode, errorMessage, rule). Other replicas' calls are not in it; the admin API's own changes are",
  "not calls; texts longer than 1000 characters are clipped (…). A quiet stream sends `: keepalive` every 15 s. A client",
  "that reads too slowly loses the oldest unread events (at most 500, and 1 MiB, are kept for it): the next read starts with",
  '`event: dropped` and `data: {"count": N}`. At most 32 streams are open at once (429 beyond). Not audited (it changes nothing).',
].join(" ");

// ── stats ────────────────────────────────────────────────────────────────────

export const StatsQuerySchema = z.strictObject({
  minutes: z.coerce.number().int().min(1).max(MAX_MINUTES).optional().describe(`how many minutes up to now (1 to ${MAX_MINUTES}, default 60)`),
});

export const CallStatsSchema = z
  .object({
    since: iso("when this gateway process began counting: minutes before it show zeros but are not known"),
    minutes: z
      .array(
        z.object({
          t: iso("the minute's start"),
          calls: z.number().describe("calls forwarded to a backend (status ok, error, timeout or cancelled)"),
          refusals: z.number().describe("calls refused before forwarding: denied, rate_limited, invalid, unauthenticated"),
        }),
      )
      .describe("every minute of the window, oldest first, zeros included"),
    backends: z
      .array(
        z.object({
          backend: z.string(),
          calls: z.number().describe("calls forwarded to it in the window"),
          errors: z.number().describe("of those, the ones that did not end ok"),
          p50Ms: z.number().nullable().describe("latency percentiles (ms), estimated from a fixed-bucket histogram; null without calls"),
          p90Ms: z.number().nullable(),
          p99Ms: z.number().nullable(),
        }),
      )
      .describe("each backend called in the window, by name"),
  })
  .describe(
    "Calls and refusals per minute and latency per backend, kept in memory by this gateway process since it started " +
      "(other replicas count their own; a restart starts over). A flood of unauthenticated requests counts as the " +
      "refusals the audit records one by one, plus one per minute for its summary.",
  );

// ── the policy checker ───────────────────────────────────────────────────────

export const PolicyCheckBodySchema = z
  .strictObject({
    subject: z.string().min(1).describe("who would call"),
    roles: z.array(z.string()).optional().describe("roles a token would carry, beside those granted to the subject (default none)"),
    target: z.string().min(1).describe("BACKEND/TOOL, resource:BACKEND/URI, prompt:BACKEND/NAME, method:BACKEND/METHOD or admin:read / admin:write (no globs)"),
    arguments: z.record(z.string(), z.unknown()).optional().describe('the call\'s arguments, for rules with conditions like [path^="/srv/"]'),
  })
  .describe("A call to ask the policy about")
  .meta({ examples: [{ subject: "alice", target: "fs/read_file", arguments: { path: "/srv/data/a.txt" } }] });

export const PolicyCheckSchema = z
  .object({
    allowed: z.boolean(),
    rule: z.string().describe('the rule that decided, e.g. "allow fs/read_file[path^=\\"/srv/\\"] (role reader)", or the default deny'),
    roles: z.array(z.string()).describe("the roles that counted: granted to the subject, and given"),
    target: z.object({ kind: z.enum(TARGET_KINDS), backend: z.string(), name: z.string() }),
  })
  .describe("The decision a call would get now");

// ── limit usage ──────────────────────────────────────────────────────────────

export const LimitUsageSchema = z
  .object({
    usage: z.array(
      z.object({
        id: z.string().describe("the rule"),
        scope: z.enum(["subject", "role", "global"]),
        subject: z.string().optional().describe("a subject rule's subject"),
        role: z.string().optional().describe("a role rule's role"),
        tool: z.string().nullable().describe("the BACKEND/TOOL glob it counts; null for every tool"),
        rate: z.string(),
        burst: z.number(),
        key: z.string().describe('the counted subject; "*" for a global rule, and for a role rule no subject has spent from'),
        used: z.number().nullable().describe("calls of the burst spent and not refilled yet (null: a role rule no subject has spent from)"),
        remaining: z.number().nullable().describe("calls that would be admitted at once now"),
        resetsAt: z.string().nullable().describe("when the bucket is full again (ISO 8601); null when it is full"),
      }),
    ),
  })
  .describe(
    "Every rate-limit rule with what its buckets hold now: one row per counted subject (a role rule counts each subject of " +
      "the role on its own). Read from the store, so every replica's calls count; calls a gateway leased and has not spent " +
      "yet count as used (at most 1/20 of the burst per gateway, for at most a second).",
  );
