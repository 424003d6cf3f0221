import type { z } from "zod";
import { ApiErrorSchema } from "../jobs/job-api-schemas.ts";
import { readLimitUsage } from "../operator-calls/limit-service.ts";
import { checkPolicy } from "../operator-calls/policy-check.ts";
import type { AdminRoute } from "./admin-route.ts";
import {
  CALL_STREAM_DESCRIPTION,
  CallStatsSchema,
  CallStreamQuerySchema,
  LimitUsageSchema,
  PolicyCheckBodySchema,
  PolicyCheckSchema,
  StatsQuerySchema,
} from "./live-api-schemas.ts";

/**
 * What the console shows of the gateway as it runs: the live stream of calls, per-minute stats,
 * the policy checker and the limits' current usage. All read-only (admin:read), none audited.
 */

const READ_ERRORS = { 401: ApiErrorSchema, 403: ApiErrorSchema };
const DEFAULT_MINUTES = 60;

export const LIVE_ROUTES: readonly AdminRoute[] = [
  {
    method: "get",
    path: "/v1/admin/calls/stream",
    summary: "The live stream of this gateway's calls and refusals (Server-Sent Events)",
    description: CALL_STREAM_DESCRIPTION,
    permission: "read",
    action: "calls.stream",
    query: CallStreamQuerySchema,
    responses: {
      200: { contentType: "text/event-stream", description: "`event: call` per call (data: a CallEvent), `event: dropped`, `: keepalive`" },
      400: ApiErrorSchema,
      ...READ_ERRORS,
      429: ApiErrorSchema,
    },
    async handle({ services, query, signal, stillAllowed }) {
      const body = services.calls.streams.openStream(query as z.infer<typeof CallStreamQuerySchema>, signal, stillAllowed);
      if (!body) {
        return {
          response: Response.json(
            {
              error: `${services.calls.streams.count} call streams are open: no more may be opened on this gateway now`,
              hint: "close a console tab that shows live calls, or retry later",
            },
            { status: 429, headers: { "cache-control": "no-store", "retry-after": "5" } },
          ),
        };
      }
      return {
        response: new Response(body, {
          // no-transform and x-accel-buffering: proxies must pass events on at once, not buffer them.
          headers: { "content-type": "text/event-stream", "cache-control": "no-store, no-transform", "x-accel-buffering": "no" },
        }),
      };
    },
  },
  {
    method: "get",
    path: "/v1/admin/stats",
    summary: "Calls and refusals per minute, and calls, errors and latency percentiles per backend",
    description: "Kept in memory by this gateway process since it started; `minutes` up to now (default 60). Not audited (it changes nothing).",
    permission: "read",
    action: "stats.read",
    query: StatsQuerySchema,
    responses: { 200: CallStatsSchema, 400: ApiErrorSchema, ...READ_ERRORS },
    async handle({ services, query }) {
      return { body: services.calls.stats.view((query as z.infer<typeof StatsQuerySchema>).minutes ?? DEFAULT_MINUTES) };
    },
  },
  {
    method: "post",
    path: "/v1/admin/policy/check",
    summary: "May a subject make a call, and which rule decides? (the policy in force, as a call would be decided)",
    description:
      "Read-only: it asks the policy and changes nothing, so it needs admin:read and is not audited. The subject's roles are " +
      "those granted to it plus `roles` (a token's); `arguments` reach rules' conditions as a call's would.",
    permission: "read",
    action: "policy.check",
    body: PolicyCheckBodySchema,
    responses: { 200: PolicyCheckSchema, 400: ApiErrorSchema, ...READ_ERRORS },
    async handle({ services, body }) {
      return { body: checkPolicy(services.policy.current, body as z.infer<typeof PolicyCheckBodySchema>) };
    },
  },
  {
    method: "get",
    path: "/v1/admin/limits/usage",
    summary: "Every rate-limit rule with what its buckets hold now",
    description: "Not audited (it changes nothing).",
    permission: "read",
    action: "limits.usage",
    responses: { 200: LimitUsageSchema, ...READ_ERRORS },
    async handle({ services }) {
      const usage = (await readLimitUsage(services.store)).map(({ view }) => view);
      return { body: { usage } };
    },
  },
];
