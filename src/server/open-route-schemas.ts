import { z } from "zod";

/**
 * Bodies of the open operational routes (/healthz, /readyz). The handlers in gateway-app.ts type
 * their answers with these, and /openapi.json is generated from them.
 */

export const HealthSchema = z
  .object({
    status: z.literal("ok"),
    version: z.string().describe("the gateway's version"),
  })
  .describe("The process is alive")
  .meta({ examples: [{ status: "ok", version: "0.1.0" }] });

export const ReadySchema = z
  .object({ status: z.literal("ready") })
  .describe("The database answers, its migrations are current and the audit log can commit")
  .meta({ examples: [{ status: "ready" }] });

export const NotReadySchema = z
  .object({
    status: z.literal("not ready"),
    reason: z.string().describe("what is wrong and what to do, e.g. `database is missing migrations 0003_jobs: run mcpgw migrate`"),
  })
  .describe("The gateway cannot serve calls yet; it recovers on its own once the cause is gone")
  .meta({ examples: [{ status: "not ready", reason: "database is missing migrations 0006_input_exchanges: run mcpgw migrate" }] });

export type HealthBody = z.infer<typeof HealthSchema>;
export type ReadyBody = z.infer<typeof ReadySchema>;
export type NotReadyBody = z.infer<typeof NotReadySchema>;
