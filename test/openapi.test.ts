import { readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv2020 from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { issueToken } from "../src/auth/token-issuer.ts";
import { ADMIN_ROUTES } from "../src/admin/admin-router.ts";
import { JOB_ROUTES, JobListSchema, JobSchema, SubmitJobBodySchema } from "../src/jobs/job-api-schemas.ts";
import { parsePermission } from "../src/policy/permission.ts";
import { docsAssetPaths } from "../src/server/docs-assets.ts";
import { BEARER_SCHEME, buildOpenApiDocument } from "../src/server/openapi.ts";
import { REPO_ROOT } from "./helpers/cli.ts";
import { BUN, type TestGateway, startTestGateway } from "./helpers/gateway.ts";

// Loosely typed on purpose: the tests check the document's shape rather than trust a type.
// biome-ignore lint/suspicious/noExplicitAny: loosely typed on purpose (above)
type Json = any;

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/** Every { $ref } in a JSON value, with where it was found. */
function collectRefs(value: Json, at = "#", found: { at: string; ref: string }[] = []): { at: string; ref: string }[] {
  if (Array.isArray(value)) value.forEach((item, i) => collectRefs(item, `${at}/${i}`, found));
  else if (value && typeof value === "object") {
    for (const [key, child] of Object.entries(value)) {
      if (key === "$ref" && typeof child === "string") found.push({ at, ref: child });
      else collectRefs(child, `${at}/${key}`, found);
    }
  }
  return found;
}

/** Resolves a local JSON pointer ("#/components/schemas/Job") in the document; undefined if it leads nowhere. */
function resolvePointer(document: Json, ref: string): Json {
  if (!ref.startsWith("#/")) return undefined;
  let node = document;
  for (const raw of ref.slice(2).split("/")) {
    const key = decodeURIComponent(raw).replaceAll("~1", "/").replaceAll("~0", "~");
    if (node === null || typeof node !== "object" || !(key in node)) return undefined;
    node = node[key];
  }
  return node;
}

/** A validator that reads the document's JSON Schemas as OpenAPI 3.1 does (2020-12), $refs included. */
function documentValidator(document: Json) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema(document, "openapi.json");
  return (pointer: string, value: unknown) => {
    const validate = ajv.getSchema(`openapi.json${pointer}`);
    if (!validate) throw new Error(`no schema at ${pointer}`);
    return { valid: validate(value) as boolean, errors: ajv.errorsText(validate.errors) };
  };
}

const pointer = (...parts: string[]) => `#/${parts.map((p) => p.replaceAll("~", "~0").replaceAll("/", "~1")).join("/")}`;
const responseSchema = (path: string, method: string, status: number, contentType = "application/json") =>
  pointer("paths", path, method, "responses", String(status), "content", contentType, "schema");

describe("/openapi.json is a well-formed OpenAPI 3.1 document", () => {
  const document: Json = buildOpenApiDocument("1.2.3");

  test("version fields, and every path has operations that each declare responses", () => {
    expect(document.openapi).toBe("3.1.0");
    expect(document.info).toMatchObject({ title: "mcpgw", version: "1.2.3" });
    const operationIds: string[] = [];
    expect(Object.keys(document.paths).length).toBeGreaterThanOrEqual(9);
    for (const [path, item] of Object.entries<Json>(document.paths)) {
      expect(path.startsWith("/"), path).toBe(true);
      const operations = Object.entries<Json>(item).filter(([key]) => METHODS.includes(key));
      expect(operations.length, `${path} has no operation`).toBeGreaterThan(0);
      for (const [method, operation] of operations) {
        const where = `${method.toUpperCase()} ${path}`;
        operationIds.push(operation.operationId);
        const statuses = Object.keys(operation.responses ?? {});
        expect(statuses.length, `${where} has no responses`).toBeGreaterThan(0);
        for (const status of statuses) {
          expect(status, where).toMatch(/^[1-5]\d\d$/);
          expect(typeof operation.responses[status].description, `${where} ${status} has no description`).toBe("string");
        }
        // Every {param} in the path is declared as a required path parameter, and nothing else is.
        const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
        const declared = (operation.parameters ?? []).filter((p: Json) => p.in === "path");
        expect(declared.map((p: Json) => p.name).sort(), where).toEqual(templated);
        for (const parameter of declared) expect(parameter.required, where).toBe(true);
      }
    }
    expect(new Set(operationIds).size, "operationIds are unique").toBe(operationIds.length);
    expect(operationIds.every((id) => typeof id === "string" && id.length > 0)).toBe(true);
  });

  test("every $ref resolves inside the document", () => {
    const refs = collectRefs(document);
    expect(refs.length).toBeGreaterThan(10);
    for (const { at, ref } of refs) expect(resolvePointer(document, ref), `${ref} (at ${at}) leads nowhere`).toBeDefined();
    // Component schemas are embedded, not standalone: a $id or $schema would re-base the $refs inside them.
    for (const [name, schema] of Object.entries<Json>(document.components.schemas)) {
      expect(schema.$id, name).toBeUndefined();
      expect(schema.$schema, name).toBeUndefined();
    }
  });

  test("the jobs API is there, as JOB_ROUTES declares it, behind the bearer scheme; the open routes need no token", () => {
    expect(document.components.securitySchemes[BEARER_SCHEME]).toEqual(expect.objectContaining({ type: "http", scheme: "bearer" }));
    for (const route of JOB_ROUTES) {
      const operation = document.paths[route.path]?.[route.method];
      expect(operation, `${route.method} ${route.path}`).toBeDefined();
      expect(operation.security).toEqual([{ [BEARER_SCHEME]: [] }]);
      expect(Object.keys(operation.responses).map(Number).sort()).toEqual(Object.keys(route.responses).map(Number).sort());
    }
    expect(document.paths["/v1/jobs"].post.requestBody.content["application/json"].schema).toEqual({ $ref: "#/components/schemas/SubmitJobBody" });
    expect(document.paths["/v1/jobs"].post.responses["202"].content["application/json"].schema).toEqual({ $ref: "#/components/schemas/Job" });
    const queryNames = document.paths["/v1/jobs"].get.parameters.filter((p: Json) => p.in === "query").map((p: Json) => p.name);
    expect(queryNames.sort()).toEqual(["cursor", "limit", "status"]);
    for (const path of ["/healthz", "/readyz", "/metrics", "/.well-known/oauth-protected-resource", "/.well-known/jwks.json"]) {
      expect(document.paths[path]?.get?.security, path).toEqual([]);
    }
  });

  test("every component has an example, and each example is valid against its own schema", () => {
    const validate = documentValidator(document);
    for (const [name, schema] of Object.entries<Json>(document.components.schemas)) {
      expect(Array.isArray(schema.examples) && schema.examples.length > 0, `${name} has no example`).toBe(true);
      for (const example of schema.examples) {
        const checked = validate(`#/components/schemas/${name}`, example);
        expect(checked.valid, `${name}: ${checked.errors}`).toBe(true);
      }
    }
  });

  test("every schema is valid JSON Schema 2020-12 and uses no keyword outside it", () => {
    const schemas: Record<string, Json> = document.components.schemas;
    const meta = new Ajv2020({ strict: true });
    for (const [name, schema] of Object.entries(schemas)) expect(meta.validateSchema(schema), `${name}: ${meta.errorsText(meta.errors)}`).toBe(true);
    // Strict compilation refuses unknown keywords; the components move under $defs so their $refs still resolve.
    const defs = JSON.parse(JSON.stringify(schemas).replaceAll('"#/components/schemas/', '"#/$defs/'));
    const strict = new Ajv2020({ strict: true });
    for (const name of Object.keys(schemas)) expect(() => strict.compile({ $defs: defs, $ref: `#/$defs/${name}` }), name).not.toThrow();
  });
});

describe("the generated JSON Schemas accept what the zod schemas accept", () => {
  const document: Json = buildOpenApiDocument("test");
  const validate = documentValidator(document);
  const job = {
    id: "01JABCDEF",
    status: "completed",
    backend: "github",
    tool: "search",
    owner: "alice",
    progress: { progress: 3, total: 3, message: "done" },
    result: { content: [{ type: "text", text: "ok" }], isError: false },
    attempts: 1,
    idempotent: false,
    cancelRequested: false,
    createdAt: "2026-11-26T10:00:00.000Z",
    updatedAt: "2026-11-26T10:00:05.000Z",
    startedAt: "2026-11-26T10:00:01.000Z",
    finishedAt: "2026-11-26T10:00:05.000Z",
    expiresAt: "2026-11-27T10:00:05.000Z",
    statusUrl: "/v1/jobs/01JABCDEF",
  };
  const { progress: _p, result: _r, startedAt: _s, finishedAt: _f, expiresAt: _e, ...queued } = { ...job, status: "queued" };

  const jobSamples: [string, unknown][] = [
    ["a completed job", job],
    ["a queued job with only the required fields", queued],
    ["a failed job with an error", { ...job, status: "failed", result: undefined, error: { code: -32603, message: "backend crashed" } }],
    ["an unknown status", { ...job, status: "done" }],
    ["a missing owner", { ...job, owner: undefined }],
    ["fractional attempts", { ...job, attempts: 1.5 }],
    ["progress without a number", { ...job, progress: { total: 3 } }],
    ["a result that is not an object", { ...job, result: "ok" }],
    ["an error without a message", { ...job, error: { code: 1 } }],
    ["cancelRequested as a string", { ...job, cancelRequested: "no" }],
  ];

  test.each(jobSamples)("Job: %s", (_name, sample) => {
    const parsed = JobSchema.safeParse(sample);
    // The document describes what the gateway writes: zod's output (unknown keys stripped, undefined dropped).
    const checked = validate("#/components/schemas/Job", parsed.success ? JSON.parse(JSON.stringify(parsed.data)) : JSON.parse(JSON.stringify(sample)));
    expect(checked.valid, checked.errors).toBe(parsed.success);
  });

  test("both sides really accept and reject something, and a list of jobs validates through its $ref", () => {
    // If JobSchema gains a required field, the samples must be updated: otherwise every case would agree by rejecting.
    expect(jobSamples.filter(([, sample]) => JobSchema.safeParse(sample).success).map(([name]) => name)).toEqual(jobSamples.slice(0, 3).map(([name]) => name));
    const list = JobListSchema.parse({ jobs: [job, queued], nextCursor: "abc" });
    expect(validate(responseSchema("/v1/jobs", "get", 200), list).valid).toBe(true);
    expect(validate(responseSchema("/v1/jobs", "get", 200), { jobs: [{ ...job, status: "done" }] }).valid).toBe(false);
  });

  const submitSamples: [string, unknown][] = [
    ["a call with arguments and a ttl", { backend: "github", tool: "search", arguments: { q: "mcp" }, ttl: 3600 }],
    ["a call without arguments", { backend: "github", tool: "search" }],
    ["an empty backend name", { backend: "", tool: "search" }],
    ["a zero ttl", { backend: "github", tool: "search", ttl: 0 }],
    ["a fractional ttl", { backend: "github", tool: "search", ttl: 1.5 }],
    ["arguments as an array", { backend: "github", tool: "search", arguments: ["mcp"] }],
    ["an unknown field (the body schema is strict)", { backend: "github", tool: "search", priority: 1 }],
    ["no tool", { backend: "github" }],
  ];

  test.each(submitSamples)("SubmitJobBody: %s", (_name, sample) => {
    // Request bodies are described as the gateway accepts them, so the raw sample is what is checked.
    const checked = validate(pointer("paths", "/v1/jobs", "post", "requestBody", "content", "application/json", "schema"), sample);
    expect(checked.valid, checked.errors).toBe(SubmitJobBodySchema.safeParse(sample).success);
  });
});

describe("the live gateway answers what the document says", () => {
  let gw: TestGateway;
  let document: Json;
  let validate: ReturnType<typeof documentValidator>;

  beforeAll(async () => {
    // Authentication on, so the open routes are proven open and the JWKS has a key to publish; an
    // authorization server to name, so the metadata documents are served.
    gw = await startTestGateway([], { auth: "required", authorizationServers: "https://login.example.com" });
    const response = await fetch(`${gw.base}/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    document = await response.json();
    validate = documentValidator(document);
  });
  afterAll(() => gw?.stop());

  test("the served document is the one built from the schemas, with the gateway's version", () => {
    expect(document).toEqual(buildOpenApiDocument("test"));
  });

  test.each([
    ["/healthz", 200],
    ["/readyz", 200],
    ["/.well-known/oauth-protected-resource", 200],
    ["/.well-known/oauth-protected-resource/mcp", 200],
    ["/.well-known/jwks.json", 200],
  ] as const)("GET %s without a token: %i, body valid against the document", async (path, status) => {
    const response = await fetch(`${gw.base}${path}`);
    expect(response.status).toBe(status);
    const body: Json = await response.json();
    const checked = validate(responseSchema(path, "get", status), body);
    expect(checked.valid, `${checked.errors}: ${JSON.stringify(body)}`).toBe(true);
    if (path === "/.well-known/jwks.json") expect(body.keys.length).toBeGreaterThan(0);
  });

  test("/.well-known/oauth-protected-resource/mcp/{backend}: body valid against the document", async () => {
    const response = await fetch(`${gw.base}/.well-known/oauth-protected-resource/mcp/github`);
    expect(response.status).toBe(200);
    const checked = validate(responseSchema("/.well-known/oauth-protected-resource/mcp/{backend}", "get", 200), await response.json());
    expect(checked.valid, checked.errors).toBe(true);
  });

  test("/metrics answers in the documented media type", async () => {
    const response = await fetch(`${gw.base}/metrics`);
    expect(response.status).toBe(200);
    const documented = Object.keys(document.paths["/metrics"].get.responses["200"].content)[0]!;
    expect(response.headers.get("content-type")?.startsWith(documented)).toBe(true);
  });
});

describe("the jobs API answers what the document says", () => {
  const WORK = { name: "work", command: [BUN, join(REPO_ROOT, "test/fixtures/work-server.ts"), "--stdio"] };
  const document: Json = buildOpenApiDocument("test");
  const validate = documentValidator(document);
  let gw: TestGateway;
  let token = "";

  beforeAll(async () => {
    gw = await startTestGateway(
      [WORK],
      { auth: "required" },
      {
        prepare: async (store) => {
          await store.roles.create({ name: "worker", rules: [{ effect: "allow", permission: parsePermission("work/*") }] });
          const auth = { tokenIssuer: "mcpgw", tokenAudience: "mcpgw", signingAlg: "EdDSA" as const };
          token = (await issueToken(store, auth, { subject: "alice", roles: ["worker"], ttlMs: 3_600_000 })).token;
        },
      },
    );
  }, 60_000);
  afterAll(() => gw?.stop());

  async function call(method: string, path: string, body?: unknown, authorized = true): Promise<{ status: number; body: Json }> {
    const response = await fetch(`${gw.base}${path}`, {
      method,
      headers: { "content-type": "application/json", ...(authorized && { authorization: `Bearer ${token}` }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: await response.json() };
  }
  /** The answer's status is documented for the operation, and its body is valid against that status's schema. */
  function expectDocumented(path: string, method: string, answer: { status: number; body: Json }) {
    expect(Object.keys(document.paths[path][method].responses), `${method} ${path} ${answer.status}`).toContain(String(answer.status));
    const checked = validate(responseSchema(path, method, answer.status), answer.body);
    expect(checked.valid, `${method.toUpperCase()} ${path} ${answer.status}: ${checked.errors}: ${JSON.stringify(answer.body)}`).toBe(true);
  }

  test("submit, poll to the end, list, cancel an ended job: every answer matches its documented schema", async () => {
    const submitted = await call("POST", "/v1/jobs", { backend: "work", tool: "work", arguments: { key: "doc-1", ms: 100, steps: 2 } });
    expect(submitted.status).toBe(202);
    expectDocumented("/v1/jobs", "post", submitted);
    let view = submitted;
    for (let i = 0; i < 200 && !["completed", "failed", "cancelled"].includes(view.body.status); i++) {
      await Bun.sleep(50);
      view = await call("GET", `/v1/jobs/${submitted.body.id}`);
      expectDocumented("/v1/jobs/{id}", "get", view);
    }
    expect(view.body.status).toBe("completed");
    expect(view.body.result).toBeDefined();
    expectDocumented("/v1/jobs", "get", await call("GET", "/v1/jobs?limit=5"));
    expectDocumented("/v1/jobs/{id}", "delete", await call("DELETE", `/v1/jobs/${submitted.body.id}`));
  });

  test("refusals: no token, a malformed body, an unknown job — documented statuses with ApiError bodies", async () => {
    expectDocumented("/v1/jobs", "get", await call("GET", "/v1/jobs", undefined, false));
    expectDocumented("/v1/jobs", "post", await call("POST", "/v1/jobs", { backend: "work" }));
    expectDocumented("/v1/jobs/{id}", "get", await call("GET", "/v1/jobs/no-such-job"));
  });
});

describe("/docs serves the renderer from the gateway itself", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway([], { auth: "required" });
  });
  afterAll(() => gw?.stop());

  test("the page: HTML without a token, a strict Content-Security-Policy, only relative same-origin references", async () => {
    const response = await fetch(`${gw.base}/docs`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const csp = response.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    const html = await response.text();
    const references = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(references.sort()).toEqual(["docs/init.js", "docs/swagger-ui-bundle.js", "docs/swagger-ui.css", "openapi.json"]);
    // No inline script: the policy would block it.
    expect(html).not.toMatch(/<script>[^<]/);
    const init = await fetch(`${gw.base}/docs/init.js`);
    expect(init.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(await init.text()).toContain('"openapi.json"');
  });

  test("the renderer's files are served whole, plain and gzip-compressed", async () => {
    const assets = docsAssetPaths();
    for (const [path, file, type] of [
      ["/docs/swagger-ui-bundle.js", assets.script, "text/javascript"],
      ["/docs/swagger-ui.css", assets.stylesheet, "text/css"],
    ] as const) {
      const original = readFileSync(file);
      const plain = await fetch(`${gw.base}${path}`, { headers: { "accept-encoding": "identity" }, decompress: false });
      expect(plain.headers.get("content-type")).toMatch(new RegExp(`^${type}`));
      expect(plain.headers.get("content-encoding")).toBeNull();
      expect(Buffer.from(await plain.arrayBuffer()).equals(original), path).toBe(true);
      const gzipped = await fetch(`${gw.base}${path}`, { headers: { "accept-encoding": "gzip" }, decompress: false });
      expect(gzipped.headers.get("content-encoding")).toBe("gzip");
      const compressed = new Uint8Array(await gzipped.arrayBuffer());
      expect(compressed.byteLength).toBeLessThan(original.byteLength / 2);
      expect(Buffer.from(Bun.gunzipSync(compressed)).equals(original), path).toBe(true);
    }
  });

  test("/docs/ redirects to /docs, unknown files are 404, other methods 405", async () => {
    const slash = await fetch(`${gw.base}/docs/`, { redirect: "manual" });
    expect(slash.status).toBe(308);
    expect(new URL(slash.headers.get("location")!, `${gw.base}/docs/`).pathname).toBe("/docs");
    expect((await fetch(`${gw.base}/docs/index.html`)).status).toBe(404);
    const post = await fetch(`${gw.base}/openapi.json`, { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
  });
});

describe("the admin API is in the document, route for route, and answers what it says", () => {
  const document: Json = buildOpenApiDocument("test");
  const validate = documentValidator(document);
  const AUTH = { tokenIssuer: "mcpgw", tokenAudience: "mcpgw", signingAlg: "EdDSA" as const };
  let gw: TestGateway;
  let admin = "";
  let outsider = "";

  beforeAll(async () => {
    gw = await startTestGateway(
      [],
      { auth: "required" },
      {
        prepare: async (store) => {
          await store.roles.create({ name: "ops", rules: [{ effect: "allow", permission: parsePermission("admin:*") }] });
          admin = (await issueToken(store, AUTH, { subject: "root", roles: ["ops"], ttlMs: 3_600_000 })).token;
          outsider = (await issueToken(store, AUTH, { subject: "dev", roles: [], ttlMs: 3_600_000 })).token;
        },
      },
    );
  }, 60_000);
  afterAll(() => gw?.stop());

  const adminOperations = () =>
    Object.entries<Json>(document.paths)
      .filter(([path]) => path.startsWith("/v1/admin"))
      .flatMap(([path, item]) =>
        Object.keys(item)
          .filter((key) => METHODS.includes(key))
          .map((method) => `${method} ${path}`),
      );

  test("every route of the router's table is documented behind the bearer scheme with its permission, and nothing else under /v1/admin", () => {
    expect(adminOperations().sort()).toEqual(ADMIN_ROUTES.map((route) => `${route.method} ${route.path}`).sort());
    for (const route of ADMIN_ROUTES) {
      const operation = document.paths[route.path][route.method];
      expect(operation.tags).toEqual(["admin"]);
      expect(operation.security).toEqual([{ [BEARER_SCHEME]: [] }]);
      expect(operation.description).toContain(`admin:${route.permission}`);
      for (const status of [401, 403]) expect(Object.keys(operation.responses), `${route.method} ${route.path}`).toContain(String(status));
      if (route.body) expect(operation.requestBody.required).toBe(true);
    }
  });

  test("the live gateway serves every documented admin operation (403 for a token without admin permissions, never 404 or 405)", async () => {
    for (const operation of adminOperations()) {
      const [method, path] = operation.split(" ") as [string, string];
      const response = await fetch(`${gw.base}${path.replace(/\{[^}]+\}/g, "x")}`, {
        method: method.toUpperCase(),
        headers: { authorization: `Bearer ${outsider}` },
      });
      expect(response.status, operation).toBe(403);
      const checked = validate(responseSchema(path, method, 403), await response.json());
      expect(checked.valid, `${operation}: ${checked.errors}`).toBe(true);
    }
  });

  test("answers of the admin routes are valid against their documented schemas", async () => {
    const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> => {
      const response = await fetch(`${gw.base}${path}`, {
        method,
        headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
      return { status: response.status, body: await response.json() };
    };
    const expectDocumented = (path: string, method: string, answer: { status: number; body: Json }) => {
      const checked = validate(responseSchema(path, method, answer.status), answer.body);
      expect(checked.valid, `${method.toUpperCase()} ${path} ${answer.status}: ${checked.errors}: ${JSON.stringify(answer.body)}`).toBe(true);
    };
    expectDocumented("/v1/admin/roles", "post", await call("POST", "/v1/admin/roles", { name: "dev", allow: ["work/*"] }));
    expectDocumented("/v1/admin/roles", "post", await call("POST", "/v1/admin/roles", { name: "dev", allow: ["work"] }));
    expectDocumented("/v1/admin/roles", "get", await call("GET", "/v1/admin/roles"));
    expectDocumented("/v1/admin/roles/{name}/subjects/{subject}", "put", await call("PUT", "/v1/admin/roles/dev/subjects/alice"));
    const issued = await call("POST", "/v1/admin/tokens", { sub: "alice", role: ["dev"] });
    expectDocumented("/v1/admin/tokens", "post", issued);
    expectDocumented("/v1/admin/tokens", "get", await call("GET", "/v1/admin/tokens"));
    expectDocumented("/v1/admin/tokens/{jti}", "delete", await call("DELETE", `/v1/admin/tokens/${issued.body.jti}`));
    expectDocumented("/v1/admin/backends", "post", await call("POST", "/v1/admin/backends", { name: "h", url: "http://127.0.0.1:9/mcp", test: false }));
    expectDocumented("/v1/admin/backends/{name}", "get", await call("GET", "/v1/admin/backends/h"));
    expectDocumented("/v1/admin/limits", "post", await call("POST", "/v1/admin/limits", { role: "dev", rate: "10/s" }));
    expectDocumented("/v1/admin/limits", "get", await call("GET", "/v1/admin/limits"));
    const audit = await call("GET", "/v1/admin/audit?limit=2");
    expectDocumented("/v1/admin/audit", "get", audit);
    const [record] = audit.body.records;
    expectDocumented("/v1/admin/audit/{chain}/{seq}", "get", await call("GET", `/v1/admin/audit/${record.chain.id}/${record.chain.seq}`));
    expectDocumented("/v1/admin/audit/verify", "get", await call("GET", "/v1/admin/audit/verify"));
    expectDocumented("/v1/admin/stats", "get", await call("GET", "/v1/admin/stats?minutes=3"));
    expectDocumented("/v1/admin/stats", "get", await call("GET", "/v1/admin/stats?minutes=0"));
    expectDocumented("/v1/admin/policy/check", "post", await call("POST", "/v1/admin/policy/check", { subject: "alice", target: "work/work" }));
    expectDocumented("/v1/admin/policy/check", "post", await call("POST", "/v1/admin/policy/check", { subject: "alice", target: "work" }));
    // The role rule set above, which no subject has spent from: a row of nulls.
    expectDocumented("/v1/admin/limits/usage", "get", await call("GET", "/v1/admin/limits/usage"));
  });

  test("the live stream of calls is documented as an event stream, and its events are CallEvents", async () => {
    const validate = documentValidator(document);
    expect(Object.keys(document.paths["/v1/admin/calls/stream"].get.responses["200"].content)).toEqual(["text/event-stream"]);
    const abort = new AbortController();
    const response = await fetch(`${gw.base}/v1/admin/calls/stream`, { headers: { authorization: `Bearer ${admin}` }, signal: abort.signal });
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    const reader = response.body!.getReader();
    await reader.read();
    // A refusal is a call the stream reports: one without a token.
    await fetch(`${gw.base}/mcp`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    let text = "";
    while (!text.includes("event: call\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the stream ended before a call: ${text}`);
      text += new TextDecoder().decode(value);
    }
    abort.abort();
    const data = JSON.parse(/^data: (.*)$/m.exec(text.slice(text.indexOf("event: call\n")))![1]!);
    const checked = validate("#/components/schemas/CallEvent", data);
    expect(checked.valid, `${checked.errors}: ${JSON.stringify(data)}`).toBe(true);
  });
});
