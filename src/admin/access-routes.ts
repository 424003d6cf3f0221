import type { z } from "zod";
import { describeDangling } from "../policy/role-references.ts";
import { createRole, grantRole, requireRole, revokeRole, roleDeletionConsequences, roleView, updateRole } from "../operator-calls/role-service.ts";
import { checkTokenIssue, issueCheckedToken, liveTokensOf, tokenView } from "../operator-calls/token-service.ts";
import { ApiErrorSchema } from "../jobs/job-api-schemas.ts";
import {
  CreateRoleBodySchema,
  DeletedRoleSchema,
  DryRunQuerySchema,
  GrantsSchema,
  IssueTokenBodySchema,
  IssuedTokenSchema,
  RevokeAllBodySchema,
  RevokedAllSchema,
  RevokedTokenSchema,
  RoleChangedSchema,
  RoleListSchema,
  RoleSchema,
  TokenListSchema,
  UpdateRoleBodySchema,
} from "./admin-api-schemas.ts";
import type { AdminRoute } from "./admin-route.ts";

/** Roles, grants and tokens: what `mcpgw role …` and `mcpgw token …` do, over HTTP. */

const READ_ERRORS = { 401: ApiErrorSchema, 403: ApiErrorSchema };
const WRITE_ERRORS = { 400: ApiErrorSchema, 401: ApiErrorSchema, 403: ApiErrorSchema, 404: ApiErrorSchema, 409: ApiErrorSchema };

export const ACCESS_ROUTES: readonly AdminRoute[] = [
  {
    method: "get",
    path: "/v1/admin/roles",
    summary: "List roles with their rules and grants",
    permission: "read",
    action: "roles.list",
    responses: { 200: RoleListSchema, ...READ_ERRORS },
    async handle({ services }) {
      return { body: { roles: (await services.store.roles.list()).map(roleView) } };
    },
  },
  {
    method: "post",
    path: "/v1/admin/roles",
    summary: "Create a role",
    description: "Every pattern is checked before anything is written; one that names no registered backend is saved with a warning.",
    permission: "write",
    action: "roles.create",
    body: CreateRoleBodySchema,
    responses: { 201: RoleChangedSchema, ...WRITE_ERRORS },
    async handle({ services, body, recordChange }) {
      const { name, ...rules } = body as z.infer<typeof CreateRoleBodySchema>;
      const { role, dangling } = await createRole(services.store, name, rules);
      await recordChange({ target: name, before: null, after: roleView(role) });
      return { status: 201, body: { role: roleView(role), warnings: dangling.map(describeDangling) } };
    },
  },
  {
    method: "get",
    path: "/v1/admin/roles/{name}",
    summary: "One role",
    permission: "read",
    action: "roles.show",
    responses: { 200: RoleSchema, ...READ_ERRORS, 404: ApiErrorSchema },
    async handle({ services, params }) {
      return { body: roleView(await requireRole(services.store, params.name!)) };
    },
  },
  {
    method: "patch",
    path: "/v1/admin/roles/{name}",
    summary: "Change a role's rules or description",
    description: "Removes the `removeRule` patterns, then adds the `allow` and `deny` rules; grants stay. Running gateways apply it within a second.",
    permission: "write",
    action: "roles.update",
    body: UpdateRoleBodySchema,
    responses: { 200: RoleChangedSchema, ...WRITE_ERRORS },
    async handle({ services, params, body, recordChange }) {
      const { before, after, dangling } = await updateRole(services.store, params.name!, body as z.infer<typeof UpdateRoleBodySchema>);
      await recordChange({ target: params.name!, before: roleView(before), after: roleView(after) });
      return { body: { role: roleView(after), warnings: dangling.map(describeDangling) } };
    },
  },
  {
    method: "delete",
    path: "/v1/admin/roles/{name}",
    summary: "Delete a role with its rules and grants",
    description:
      "Tokens carrying the role keep its name, which then grants nothing. The answer says what went with it; " +
      "with `dryRun=true` what would go, and nothing is deleted.",
    permission: "write",
    action: "roles.delete",
    query: DryRunQuerySchema,
    responses: { 200: DeletedRoleSchema, ...WRITE_ERRORS },
    async handle({ services, params, query, recordChange }) {
      const before = await requireRole(services.store, params.name!);
      const consequences = await roleDeletionConsequences(services.store, before);
      if ((query as z.infer<typeof DryRunQuerySchema>).dryRun === "true") return { body: { ...roleView(before), consequences } };
      await services.store.roles.delete(before.name);
      await recordChange({ target: before.name, before: roleView(before), after: null });
      return { body: { ...roleView(before), consequences } };
    },
  },
  {
    method: "put",
    path: "/v1/admin/roles/{name}/subjects/{subject}",
    summary: "Grant a role to a subject",
    description: "Idempotent. Running gateways apply it within a second.",
    permission: "write",
    action: "grants.grant",
    responses: { 200: GrantsSchema, ...WRITE_ERRORS },
    async handle({ services, params, recordChange }) {
      const { before, after } = await grantRole(services.store, params.name!, params.subject!);
      await recordChange({ target: params.name!, before: { subjects: before }, after: { subjects: after } });
      return { body: { role: params.name!, subjects: after } };
    },
  },
  {
    method: "delete",
    path: "/v1/admin/roles/{name}/subjects/{subject}",
    summary: "Take a grant back",
    permission: "write",
    action: "grants.revoke",
    responses: { 200: GrantsSchema, ...WRITE_ERRORS },
    async handle({ services, params, recordChange }) {
      const { before, after } = await revokeRole(services.store, params.name!, params.subject!);
      await recordChange({ target: params.name!, before: { subjects: before }, after: { subjects: after } });
      return { body: { role: params.name!, subjects: after } };
    },
  },
  {
    method: "get",
    path: "/v1/admin/tokens",
    summary: "List issued tokens (claims and state, never the tokens)",
    permission: "read",
    action: "tokens.list",
    responses: { 200: TokenListSchema, ...READ_ERRORS },
    async handle({ services }) {
      const now = Date.now();
      return { body: { tokens: (await services.store.tokens.list()).map((token) => tokenView(token, now)) } };
    },
  },
  {
    method: "post",
    path: "/v1/admin/tokens",
    summary: "Issue a token",
    description: "The token is in this answer only; the audit record holds its claims, not the token.",
    permission: "write",
    action: "tokens.issue",
    body: IssueTokenBodySchema,
    responses: { 201: IssuedTokenSchema, ...WRITE_ERRORS },
    async handle({ services, body, recordChange }) {
      const request = checkTokenIssue(body as z.infer<typeof IssueTokenBodySchema>);
      const issued = await issueCheckedToken(services.store, services.auth, request);
      const view = tokenView(issued.record);
      await recordChange({ target: view.jti, before: null, after: view });
      return {
        status: 201,
        body: { token: issued.token, ...view, kid: issued.kid, issuer: services.auth.tokenIssuer, audience: services.auth.tokenAudience },
      };
    },
  },
  {
    method: "post",
    path: "/v1/admin/tokens/revoke",
    summary: "Revoke every live token of a subject",
    description:
      "Grants of roles to the subject stay, and new tokens can still be issued. Running gateways refuse the tokens within a second. " +
      "With `dryRun=true` the answer lists the live tokens that would be revoked, and nothing is.",
    permission: "write",
    action: "tokens.revoke-all",
    body: RevokeAllBodySchema,
    query: DryRunQuerySchema,
    responses: { 200: RevokedAllSchema, ...WRITE_ERRORS },
    async handle({ services, body, query, recordChange }) {
      const { sub } = body as z.infer<typeof RevokeAllBodySchema>;
      const live = await liveTokensOf(services.store, sub);
      if ((query as z.infer<typeof DryRunQuerySchema>).dryRun === "true") return { body: { revoked: live.map((token) => tokenView(token)) } };
      if (live.length === 0) return { body: { revoked: [] } };
      // In the order the store revoked them (the CLI prints them so).
      const jtis = await services.store.tokens.revokeAllFor(sub, Date.now());
      const now = Date.now();
      const byJti = new Map((await services.store.tokens.list()).map((token) => [token.jti, token]));
      const revoked = jtis.flatMap((jti) => (byJti.has(jti) ? [tokenView(byJti.get(jti)!, now)] : []));
      const wasLive = new Set(jtis);
      await recordChange({ target: sub, before: live.filter((token) => wasLive.has(token.jti)).map((token) => tokenView(token, now)), after: revoked });
      return { body: { revoked } };
    },
  },
  {
    method: "delete",
    path: "/v1/admin/tokens/{jti}",
    summary: "Revoke a token",
    description: "Running gateways refuse it within a second. Revoking a revoked token changes nothing (outcome already-revoked).",
    permission: "write",
    action: "tokens.revoke",
    responses: { 200: RevokedTokenSchema, ...WRITE_ERRORS },
    async handle({ services, params, recordChange }) {
      const jti = params.jti!;
      const before = await services.store.tokens.get(jti);
      // The store refuses an unknown jti (404) as it does for `mcpgw token revoke`.
      const outcome = await services.store.tokens.revoke(jti, Date.now());
      const after = (await services.store.tokens.get(jti)) ?? before!;
      if (outcome === "revoked") await recordChange({ target: jti, before: tokenView(before ?? after), after: tokenView(after) });
      return { body: { token: tokenView(after), outcome } };
    },
  },
];
