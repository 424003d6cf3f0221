import type { z } from "zod";
import type { AuditFilter } from "../audit/audit-record.ts";
import { recordView } from "../audit/record-view.ts";
import { parseTimeBound } from "../audit/time-bound.ts";
import { verifyAllChains, verifyChain } from "../audit/verify-chains.ts";
import { NotFoundError, fieldError, inField } from "../errors.ts";
import { ApiErrorSchema } from "../jobs/job-api-schemas.ts";
import { limitRuleFromInput, limitView, requireLimit, updateLimit } from "../operator-calls/limit-service.ts";
import {
  AuditPageSchema,
  AuditQuerySchema,
  AuditRecordDetailSchema,
  AuditVerifySchema,
  LimitListSchema,
  LimitSchema,
  LimitSetSchema,
  SetLimitBodySchema,
  UpdateLimitBodySchema,
} from "./admin-api-schemas.ts";
import type { AdminRoute } from "./admin-route.ts";

/** The audit log (query, one record, verify) and rate-limit rules: what `mcpgw audit …` and `mcpgw limit …` do, over HTTP. */

const READ_ERRORS = { 401: ApiErrorSchema, 403: ApiErrorSchema };
const WRITE_ERRORS = { 400: ApiErrorSchema, 401: ApiErrorSchema, 403: ApiErrorSchema, 404: ApiErrorSchema, 409: ApiErrorSchema };
const DEFAULT_PAGE = 100;

/** The keyset cursor of an audit page: the last record's (ts, id), opaque to clients. */
function encodeCursor(ts: number, id: number): string {
  return Buffer.from(`${ts}:${id}`).toString("base64url");
}

function decodeCursor(cursor: string): { ts: number; id: number } {
  const match = /^(\d+):(\d+)$/.exec(Buffer.from(cursor, "base64url").toString());
  if (!match)
    throw fieldError(
      "cursor",
      `cursor "${cursor}" is not one this API gave out`,
      "pass the nextCursor of the previous page as is, or leave it out for the newest records",
    );
  return { ts: Number(match[1]), id: Number(match[2]) };
}

/** The query as a store filter; time bounds read as `mcpgw audit export` reads them. */
function auditFilter(query: z.infer<typeof AuditQuerySchema>): AuditFilter {
  const now = Date.now();
  const filter: AuditFilter = {
    ...(query.since !== undefined && { since: inField("since", () => parseTimeBound(query.since!, "since", now)) }),
    ...(query.until !== undefined && { until: inField("until", () => parseTimeBound(query.until!, "until", now)) }),
    ...(query.subject !== undefined && { subject: query.subject }),
    ...(query.backend !== undefined && { backend: query.backend }),
    ...(query.tool !== undefined && { tool: query.tool }),
    ...(query.status !== undefined && { status: query.status }),
  };
  if (filter.since !== undefined && filter.until !== undefined && filter.until <= filter.since)
    throw fieldError("until", `until ${query.until} is not after since ${query.since}`, "give until a later time than since, or leave one out");
  return filter;
}

export const AUDIT_ROUTES: readonly AdminRoute[] = [
  {
    method: "get",
    path: "/v1/admin/audit",
    summary: "Query the audit log, newest first",
    description: "Filters combine (all must match). Follow `nextCursor` for older records.",
    permission: "read",
    action: "audit.query",
    query: AuditQuerySchema,
    responses: { 200: AuditPageSchema, 400: ApiErrorSchema, ...READ_ERRORS },
    async handle({ services, query }) {
      const q = query as z.infer<typeof AuditQuerySchema>;
      const filter = auditFilter(q);
      const limit = q.limit ?? DEFAULT_PAGE;
      const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
      // One more than the page, to know whether there is a next one.
      const rows = await services.store.audit.list({ filter, limit: limit + 1, newestFirst: true, ...(after && { after }) });
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      const more = rows.length > limit && last?.id !== undefined;
      return { body: { records: page.map(recordView), ...(more && { nextCursor: encodeCursor(Number(last!.ts), Number(last!.id)) }) } };
    },
  },
  {
    method: "get",
    path: "/v1/admin/audit/verify",
    summary: "Verify every audit chain",
    description:
      "Recomputes each chain's hashes from its start (or prune checkpoint) and reports its first break. Reads the whole log: it takes a while on a large one.",
    permission: "read",
    action: "audit.verify",
    responses: { 200: AuditVerifySchema, ...READ_ERRORS },
    async handle({ services }) {
      const chains = await verifyAllChains(services.store.audit);
      return { body: { ok: chains.every((chain) => chain.ok), chains } };
    },
  },
  {
    method: "get",
    path: "/v1/admin/audit/{chain}/{seq}",
    summary: "One audit record, by its chain position, and whether its chain verifies up to it",
    permission: "read",
    action: "audit.show",
    responses: { 200: AuditRecordDetailSchema, 400: ApiErrorSchema, ...READ_ERRORS, 404: ApiErrorSchema },
    async handle({ services, params }) {
      const seq = Number(params.seq);
      if (!Number.isSafeInteger(seq) || seq < 1)
        throw fieldError("seq", `seq "${params.seq}" is not a chain position`, "use a record's chain.seq (a whole number ≥ 1)");
      const [row] = await services.store.audit.beginEvents(params.chain!, seq - 1, 1);
      if (!row || row.seq !== seq)
        throw new NotFoundError(`chain "${params.chain}" has no record at seq ${seq}`, "take chain.id and chain.seq from a record of GET /v1/admin/audit");
      const verification = await verifyChain(services.store.audit, row.chainId, { upTo: Math.max(row.seq, row.outcomeSeq ?? 0) });
      return { body: { record: recordView(row), verification } };
    },
  },
];

export const LIMIT_ROUTES: readonly AdminRoute[] = [
  {
    method: "get",
    path: "/v1/admin/limits",
    summary: "List rate-limit rules",
    permission: "read",
    action: "limits.list",
    responses: { 200: LimitListSchema, ...READ_ERRORS },
    async handle({ services }) {
      return { body: { limits: (await services.store.limits.list()).map(limitView) } };
    },
  },
  {
    method: "post",
    path: "/v1/admin/limits",
    summary: "Set a rate-limit rule",
    description: "Setting a rule for the same scope (whom, tool, period) again replaces it: same id, what was spent stays spent.",
    permission: "write",
    action: "limits.set",
    body: SetLimitBodySchema,
    responses: { 200: LimitSetSchema, ...WRITE_ERRORS },
    async handle({ services, body, recordChange }) {
      const { rule, replaced } = await services.store.limits.set(limitRuleFromInput(body as z.infer<typeof SetLimitBodySchema>));
      await recordChange({ target: rule.id, before: replaced.length > 0 ? replaced.map(limitView) : null, after: limitView(rule) });
      return { body: { limit: limitView(rule), replaced: replaced.map(limitView) } };
    },
  },
  {
    method: "patch",
    path: "/v1/admin/limits/{id}",
    summary: "Change a rule's rate or burst",
    description: "Without a burst, a burst that was the whole rate follows the new rate.",
    permission: "write",
    action: "limits.update",
    body: UpdateLimitBodySchema,
    responses: { 200: LimitSchema, ...WRITE_ERRORS },
    async handle({ services, params, body, recordChange }) {
      const { before, after } = await updateLimit(services.store, params.id!, body as z.infer<typeof UpdateLimitBodySchema>);
      await recordChange({ target: after.id, before: limitView(before), after: limitView(after) });
      return { body: limitView(after) };
    },
  },
  {
    method: "delete",
    path: "/v1/admin/limits/{id}",
    summary: "Remove a rate-limit rule",
    permission: "write",
    action: "limits.remove",
    responses: { 200: LimitSchema, ...WRITE_ERRORS },
    async handle({ services, params, recordChange }) {
      const before = await requireLimit(services.store, params.id!);
      await services.store.limits.remove(before.id);
      await recordChange({ target: before.id, before: limitView(before), after: null });
      return { body: limitView(before) };
    },
  },
];
