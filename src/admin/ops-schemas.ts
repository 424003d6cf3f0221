import { z } from "zod";
import { JobSchema, JobStatusSchema } from "../jobs/job-api-schemas.ts";

/**
 * The schemas of the admin API's operational routes (ops-routes.ts): sessions, the backends' live
 * status, jobs. The handlers answer with them and /openapi.json is generated from them. A session is
 * what `mcpgw sessions list --json` prints (src/sessions/listed-sessions.ts), a job what GET
 * /v1/jobs/{id} answers (src/jobs/job-views.ts).
 */

const iso = (what: string) => z.string().describe(`${what} (ISO 8601)`);

// ── sessions ─────────────────────────────────────────────────────────────────

export const ListedGatewaySchema = z
  .object({
    instance: z.string().describe("unique per gateway process start"),
    host: z.string(),
    pid: z.number().int(),
    publishedAt: iso("when it last wrote or confirmed its snapshot"),
    stale: z.boolean().describe("silent for 3 of its publishing intervals: crashed, or cut off from the database"),
  })
  .describe("A gateway that publishes its sessions to the database");

export const ListedSessionSchema = z
  .object({
    id: z.string().describe("the Mcp-Session-Id"),
    subject: z.string(),
    client: z.string().nullable().describe("the client's name and version from initialize"),
    route: z.string().describe("/mcp or /mcp/<backend>"),
    openedAt: iso("opened"),
    lastActivity: iso("last request"),
    ageSec: z.number().int(),
    idleSec: z.number().int(),
    dedicated: z
      .array(z.object({ backend: z.string(), pid: z.number().int().nullable().describe("its process (stdio), null while not running") }))
      .describe("backends the session has a connection of its own to (it declared sampling, elicitation or roots)"),
    gateway: ListedGatewaySchema,
  })
  .describe("An MCP session, as `mcpgw sessions list --json` prints it")
  .meta({
    examples: [
      {
        id: "5b1e0c7a-2f41-4c55-9c1b-0a8f3f1e2d3c",
        subject: "alice",
        client: "claude-code 1.0.0",
        route: "/mcp",
        openedAt: "2026-12-04T21:00:00.000Z",
        lastActivity: "2026-12-04T21:04:10.000Z",
        ageSec: 300,
        idleSec: 50,
        dedicated: [{ backend: "everything", pid: 4242 }],
        gateway: { instance: "gw1.17.3f9a0c1d", host: "gw1", pid: 17, publishedAt: "2026-12-04T21:04:58.000Z", stale: false },
      },
    ],
  });

export const SessionListSchema = z
  .object({
    sessions: z.array(ListedSessionSchema).describe("oldest first; a stale gateway's only with includeStale=true"),
    gateways: z.array(ListedGatewaySchema).describe("every gateway that published, stale ones included (and marked)"),
  })
  .describe("Every running gateway's sessions, as they last published them");

export const SessionQuerySchema = z.strictObject({
  includeStale: z.enum(["true", "false"]).optional().describe("also the sessions of gateways that stopped publishing (default false)"),
});

// ── backends' live status ────────────────────────────────────────────────────

export const BackendStatusSchema = z
  .object({
    name: z.string(),
    transport: z.enum(["stdio", "streamable-http", "sse"]),
    health: z
      .enum(["up", "down", "unknown"])
      .describe("up: its last connection opened; down: the last attempt failed or an open connection crashed; unknown: not tried yet"),
    lastError: z.string().nullable().describe("the last failure (kept once it is up again); null when none since this gateway started"),
    since: iso("when health became what it is").nullable(),
    era: z.enum(["legacy", "modern"]).nullable().describe("legacy: 2025-era (initialize, sessions); modern: 2026-07-28; null before it connected"),
    protocolVersion: z.string().nullable(),
    tools: z
      .array(
        z.object({
          name: z.string(),
          description: z.string().nullable(),
          pin: z.string().nullable().describe("pinned, changed, added or removed, as the definition pins say (null: drift not checked, or not recorded yet)"),
        }),
      )
      .describe("what the backend last listed to this gateway, every capability scope together; [] before it ever listed"),
    connections: z.object({ shared: z.number().int(), dedicated: z.number().int() }).describe("open connections: shared, and per session"),
    processes: z
      .array(z.object({ pid: z.number().int(), session: z.string().nullable().describe("the session it serves; null: shared") }))
      .describe("stdio child processes running now"),
  })
  .describe("A backend as this gateway process sees it now")
  .meta({
    examples: [
      {
        name: "everything",
        transport: "stdio",
        health: "up",
        lastError: null,
        since: "2026-12-04T21:00:00.120Z",
        era: "legacy",
        protocolVersion: "2025-11-25",
        tools: [{ name: "echo", description: "Echoes back the input", pin: "pinned" }],
        connections: { shared: 1, dedicated: 1 },
        processes: [
          { pid: 4241, session: null },
          { pid: 4242, session: "5b1e0c7a-2f41-4c55-9c1b-0a8f3f1e2d3c" },
        ],
      },
    ],
  });

export const BackendStatusListSchema = z.object({ backends: z.array(BackendStatusSchema).describe("by name") }).describe("Every registered backend");

// ── jobs ─────────────────────────────────────────────────────────────────────

export const AdminJobQuerySchema = z.strictObject({
  status: JobStatusSchema.optional(),
  subject: z.string().optional().describe("only this subject's jobs (the owner)"),
  backend: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(500).optional().describe("page size (default 100)"),
  cursor: z.string().optional().describe("the nextCursor of the previous page"),
});

export const AdminJobListSchema = z
  .object({
    jobs: z.array(JobSchema),
    nextCursor: z.string().nullable().describe("pass as ?cursor= for older jobs; null on the last page"),
  })
  .describe("Every subject's jobs, newest first");
