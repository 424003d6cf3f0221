import { z } from "zod";
import { JwkSchema, JwksSchema, OAuthErrorSchema, ProtectedResourceMetadataSchema } from "../auth/well-known-schemas.ts";
import {
  ApiErrorSchema,
  JOB_ROUTES,
  JobErrorSchema,
  JobListSchema,
  JobProgressSchema,
  JobSchema,
  JobStatusSchema,
  SubmitJobBodySchema,
} from "../jobs/job-api-schemas.ts";
import { HealthSchema, NotReadySchema, ReadySchema } from "./open-route-schemas.ts";
import { ADMIN_ROUTES } from "../admin/admin-router.ts";
import {
  AddBackendBodySchema,
  AuditRecordSchema,
  BackendSchema,
  CreateRoleBodySchema,
  IssueTokenBodySchema,
  IssuedTokenSchema,
  LimitSchema,
  RoleSchema,
  SetLimitBodySchema,
  TokenSchema,
} from "../admin/admin-api-schemas.ts";
import { CallEventSchema } from "../admin/live-api-schemas.ts";

/**
 * /openapi.json: an OpenAPI 3.1 document of the gateway's REST surface, generated from the zod
 * schemas the handlers use (z.toJSONSchema emits JSON Schema 2020-12, the dialect of OpenAPI 3.1),
 * so the document and the handlers cannot drift apart. The MCP endpoints are JSON-RPC, not REST,
 * and are described in prose only.
 */

type HttpMethod = "get" | "post" | "put" | "patch" | "delete";

/** A non-JSON answer (Prometheus text). */
interface TextResponse {
  contentType: string;
  description: string;
}

/** One operation as the document describes it; JOB_ROUTES has this shape. */
export interface DocumentedRoute {
  readonly method: HttpMethod;
  readonly path: string;
  readonly summary: string;
  readonly description?: string;
  readonly body?: z.ZodType;
  readonly query?: z.ZodObject;
  readonly responses: { readonly [status: number]: z.ZodType | TextResponse };
}

type JsonSchema = Record<string, unknown>;

export const BEARER_SCHEME = "bearerAuth";

/**
 * Schemas that get a name under components/schemas (so clients generate one type for them);
 * any other schema is inlined where it is used. Responses are described as the gateway writes
 * them (zod's "output" view), so every one of these must be a response body or part of one.
 */
const RESPONSE_COMPONENTS = {
  Job: JobSchema,
  JobList: JobListSchema,
  JobStatus: JobStatusSchema,
  JobProgress: JobProgressSchema,
  JobError: JobErrorSchema,
  ApiError: ApiErrorSchema,
  Health: HealthSchema,
  Ready: ReadySchema,
  NotReady: NotReadySchema,
  ProtectedResourceMetadata: ProtectedResourceMetadataSchema,
  Jwks: JwksSchema,
  Jwk: JwkSchema,
  OAuthError: OAuthErrorSchema,
  Role: RoleSchema,
  Token: TokenSchema,
  IssuedToken: IssuedTokenSchema,
  Backend: BackendSchema,
  Limit: LimitSchema,
  AuditRecord: AuditRecordSchema,
  // The data of each `event: call` of GET /v1/admin/calls/stream (an event stream, so not a JSON response of its own).
  CallEvent: CallEventSchema,
} satisfies Record<string, z.ZodType>;

/** Request bodies, described as the gateway accepts them (zod's "input" view). */
const REQUEST_COMPONENTS = {
  SubmitJobBody: SubmitJobBodySchema,
  CreateRoleBody: CreateRoleBodySchema,
  IssueTokenBody: IssueTokenBodySchema,
  AddBackendBody: AddBackendBodySchema,
  SetLimitBody: SetLimitBodySchema,
} satisfies Record<string, z.ZodType>;

const PROMETHEUS_TEXT: TextResponse = { contentType: "text/plain; version=0.0.4", description: "Prometheus text exposition format" };
const METADATA_DESCRIPTION =
  "Open: clients read it before they have a token. Served with `access-control-allow-origin: *` for browser-based MCP clients. " +
  "Only when there is an authorization server to name (MCPGW_AUTHORIZATION_SERVERS, or the identity provider of MCPGW_JWT_ISSUER); otherwise 404 with an OAuth error saying how to get a token.";

/** The open routes beside the jobs API; their handlers are in gateway-app.ts and auth/well-known.ts. */
const OPEN_ROUTES: readonly DocumentedRoute[] = [
  { method: "get", path: "/healthz", summary: "Liveness: the process answers", responses: { 200: HealthSchema } },
  {
    method: "get",
    path: "/readyz",
    summary: "Readiness: database reachable, migrations current, audit log writable",
    description: "Use as the readiness probe. 503 names the cause; the gateway recovers on its own once it is gone.",
    responses: { 200: ReadySchema, 503: NotReadySchema },
  },
  {
    method: "get",
    path: "/metrics",
    summary: "Prometheus metrics",
    description: "Calls by backend, method, target and outcome; call latency; refusals by reason; open sessions.",
    responses: { 200: PROMETHEUS_TEXT },
  },
  {
    method: "get",
    path: "/.well-known/oauth-protected-resource",
    summary: "Protected resource metadata (RFC 9728) of the gateway",
    description: METADATA_DESCRIPTION,
    responses: { 200: ProtectedResourceMetadataSchema, 404: OAuthErrorSchema, 405: ApiErrorSchema },
  },
  {
    method: "get",
    path: "/.well-known/oauth-protected-resource/mcp",
    summary: "Protected resource metadata of the aggregated endpoint /mcp",
    description: `Where MCP clients look first (MCP 2025-11-25, basic/authorization). ${METADATA_DESCRIPTION}`,
    responses: { 200: ProtectedResourceMetadataSchema, 404: OAuthErrorSchema, 405: ApiErrorSchema },
  },
  {
    method: "get",
    path: "/.well-known/oauth-protected-resource/mcp/{backend}",
    summary: "Protected resource metadata of one backend's endpoint /mcp/{backend}",
    description: METADATA_DESCRIPTION,
    responses: { 200: ProtectedResourceMetadataSchema, 404: z.union([OAuthErrorSchema, ApiErrorSchema]), 405: ApiErrorSchema },
  },
  {
    method: "get",
    path: "/.well-known/jwks.json",
    summary: "The gateway's public signing keys",
    description: "Lets other services verify tokens issued with `mcpgw token issue`. Retired keys are left out.",
    responses: { 200: JwksSchema, 405: ApiErrorSchema },
  },
];

const REASON_PHRASES: Record<number, string> = {
  200: "OK",
  201: "Created",
  202: "Accepted",
  400: "Bad request",
  401: "Unauthenticated: no token, or an invalid one (see WWW-Authenticate)",
  403: "Refused by policy",
  404: "Not found",
  405: "Method not allowed",
  409: "Conflict",
  413: "Too large",
  422: "Not done: the service refused it (e.g. testing the backend failed); the error says why",
  429: "Rate limited (see Retry-After)",
  503: "Unavailable",
};

const INFO_DESCRIPTION = [
  "The REST surface of mcpgw, a gateway for the Model Context Protocol.",
  "",
  "MCP clients connect to `/mcp` (every backend the caller may use, tools named `<backend>__<tool>`) or `/mcp/<backend>`",
  "(one backend, names untouched) with the Streamable HTTP transport; those endpoints speak JSON-RPC and are not described here.",
  "",
  "`/v1/jobs` runs tool calls asynchronously, with the same bearer token, policy, rate limits and audit as a direct MCP call.",
  "`/v1/admin` administers the gateway (the CLI's services over HTTP) for tokens whose roles allow `admin:read` / `admin:write`.",
  "Tokens: `mcpgw token issue --sub SUBJECT --role ROLE`, or an identity provider's (see docs/security.md).",
].join("\n");

/** Builds the OpenAPI 3.1 document once; the gateway serves it as is. */
export function buildOpenApiDocument(version: string): Record<string, unknown> {
  const components = componentSchemas();
  const refs = new Map<z.ZodType, string>();
  for (const [name, schema] of Object.entries({ ...RESPONSE_COMPONENTS, ...REQUEST_COMPONENTS })) refs.set(schema, `#/components/schemas/${name}`);

  const paths: Record<string, Record<string, unknown>> = {};
  const routes: { route: DocumentedRoute; tag: string; secured: boolean }[] = [
    ...OPEN_ROUTES.map((route) => ({ route, tag: tagOf(route.path), secured: false })),
    ...(JOB_ROUTES satisfies readonly DocumentedRoute[]).map((route) => ({ route, tag: "jobs", secured: true })),
    ...ADMIN_ROUTES.map((route) => ({ route: withPermission(route), tag: "admin", secured: true })),
  ];
  for (const { route, tag, secured } of routes) {
    const operations = (paths[route.path] ??= {});
    if (operations[route.method]) throw new Error(`openapi: ${route.method.toUpperCase()} ${route.path} is described twice`);
    operations[route.method] = operation(route, tag, secured, refs);
  }

  return {
    openapi: "3.1.0",
    info: { title: "mcpgw", version, description: INFO_DESCRIPTION },
    tags: [
      { name: "jobs", description: "Asynchronous tool calls (bearer token required)" },
      {
        name: "admin",
        description:
          "Administration: roles, grants, tokens, backends and their live status, audit, limits, sessions, jobs, live calls and stats, the policy checker (a token whose roles allow admin:read or admin:write; every change audited)",
      },
      { name: "health", description: "Probes and metrics (open)" },
      { name: "discovery", description: "Documents clients read before they have a token (open)" },
    ],
    paths,
    components: {
      schemas: components,
      securitySchemes: {
        [BEARER_SCHEME]: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description: "A token from `mcpgw token issue`, signed with a shared secret, or from the configured identity provider",
        },
      },
    },
  };
}

/** An admin route as documented: the permission it needs leads its description. */
function withPermission(route: (typeof ADMIN_ROUTES)[number]): DocumentedRoute {
  const needs = `Needs \`admin:${route.permission}\`${route.permission === "write" ? "; audited with the before and after of the change" : ""}.`;
  return { ...route, description: route.description ? `${needs} ${route.description}` : needs };
}

function tagOf(path: string): string {
  return path.startsWith("/.well-known/") ? "discovery" : "health";
}

function operation(route: DocumentedRoute, tag: string, secured: boolean, refs: Map<z.ZodType, string>): Record<string, unknown> {
  const parameters = [...pathParameters(route.path), ...queryParameters(route.query)];
  const responses: Record<string, unknown> = {};
  for (const [status, answer] of Object.entries(route.responses)) {
    const reason = REASON_PHRASES[Number(status)];
    if (!reason) throw new Error(`openapi: no reason phrase for status ${status} of ${route.method.toUpperCase()} ${route.path}`);
    if (isTextResponse(answer)) {
      responses[status] = { description: `${reason} — ${answer.description}`, content: { [answer.contentType]: { schema: { type: "string" } } } };
    } else {
      const described = answer.description ? `${reason} — ${answer.description}` : reason;
      responses[status] = { description: described, content: { "application/json": { schema: schemaOrRef(answer, "output", refs) } } };
    }
  }
  return {
    tags: [tag],
    operationId: operationId(route),
    summary: route.summary,
    ...(route.description && { description: route.description }),
    ...(parameters.length > 0 && { parameters }),
    ...(route.body && {
      requestBody: { required: true, content: { "application/json": { schema: schemaOrRef(route.body, "input", refs) } } },
    }),
    responses,
    // Open routes say so explicitly (security: []), so a client generator never attaches a token to them.
    security: secured ? [{ [BEARER_SCHEME]: [] }] : [],
  };
}

/** `{id}` segments are required string path parameters. */
function pathParameters(path: string): Record<string, unknown>[] {
  return [...path.matchAll(/\{([^}]+)\}/g)].map(([, name]) => ({ name, in: "path", required: true, schema: { type: "string" } }));
}

/** Each property of the query schema is one query parameter, described as the gateway accepts it. */
function queryParameters(query: z.ZodObject | undefined): Record<string, unknown>[] {
  if (!query) return [];
  const schema = toJsonSchema(query, "input");
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...rest } = property;
    return { name, in: "query", required: required.has(name), ...(typeof description === "string" && { description }), schema: rest };
  });
}

function schemaOrRef(schema: z.ZodType, io: "input" | "output", refs: Map<z.ZodType, string>): JsonSchema {
  const ref = refs.get(schema);
  return ref ? { $ref: ref } : toJsonSchema(schema, io);
}

/**
 * components/schemas: the response schemas converted together (shared parts become $refs
 * between them), then the request bodies, each on its own in the input view.
 */
function componentSchemas(): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(RESPONSE_COMPONENTS)) registry.add(schema, { id });
  const converted = z.toJSONSchema(registry, {
    target: "draft-2020-12",
    io: "output",
    unrepresentable: "throw",
    uri: (id) => `#/components/schemas/${id}`,
  }).schemas as Record<string, JsonSchema>;
  const schemas: Record<string, JsonSchema> = {};
  for (const [name, schema] of Object.entries(converted)) schemas[name] = withoutSchemaIdentity(schema);
  for (const [name, schema] of Object.entries(REQUEST_COMPONENTS)) {
    if (schemas[name]) throw new Error(`openapi: component ${name} is both a request and a response schema`);
    schemas[name] = toJsonSchema(schema, "input");
  }
  return schemas;
}

/** One schema on its own, every part inlined: a $defs inside a component would resolve against the document root. */
function toJsonSchema(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  return withoutSchemaIdentity(z.toJSONSchema(schema, { target: "draft-2020-12", io, unrepresentable: "throw", reused: "inline" }) as JsonSchema);
}

/** $schema and $id belong to standalone schemas; inside an OpenAPI document they would re-base its $refs. */
function withoutSchemaIdentity(schema: JsonSchema): JsonSchema {
  const { $schema: _schema, $id: _id, ...rest } = schema;
  return rest;
}

function isTextResponse(answer: z.ZodType | TextResponse): answer is TextResponse {
  return "contentType" in answer;
}

/** `GET /v1/jobs/{id}` → `getV1JobsById`: stable and unique per method and path. */
function operationId(route: DocumentedRoute): string {
  const words = route.path
    .split("/")
    .filter(Boolean)
    .map((segment) => (segment.startsWith("{") ? `by-${segment.slice(1, -1)}` : segment))
    .flatMap((segment) => segment.split(/[^A-Za-z0-9]+/))
    .filter(Boolean);
  return [route.method, ...words].map((word, i) => (i === 0 ? word : word[0]!.toUpperCase() + word.slice(1))).join("");
}
