import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ConflictError, McpgwError, NotFoundError, UsageError } from "../../src/errors.ts";
import type { RemoteServer } from "../../src/config/settings.ts";
import { adminClient } from "./admin-client.ts";

/**
 * The admin client against a real HTTP server that answers as the admin API does (or as something
 * else at the address would): each answer becomes the error the database mode throws for it, with
 * its exit code; what only a remote call meets says so.
 */
describe("adminClient", () => {
  let server: ReturnType<typeof Bun.serve>;
  let remote: RemoteServer;
  const seen: { authorization: string | null; contentType: string | null; body: string }[] = [];

  beforeAll(() => {
    server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      async fetch(request) {
        const path = new URL(request.url).pathname;
        seen.push({ authorization: request.headers.get("authorization"), contentType: request.headers.get("content-type"), body: await request.text() });
        const problem = (status: number, body: object) => Response.json(body, { status });
        switch (path) {
          case "/v1/admin/ok":
            return Response.json({ echoed: new URL(request.url).searchParams.get("dryRun") });
          case "/v1/admin/bad":
            return problem(400, { error: "--rate is required", hint: "e.g. --rate 100/min", field: "rate" });
          case "/v1/admin/missing":
            return problem(404, { error: 'there is no role "x"', hint: "list the roles with: mcpgw role list" });
          case "/v1/admin/taken":
            return problem(409, { error: 'role "x" already exists' });
          case "/v1/admin/refused":
            return problem(422, { error: 'backend "x" was not added: testing it failed', hint: "fix the flag" });
          case "/v1/admin/unauthenticated":
            return problem(401, { error: "Unauthorized: token expired", hint: "send a token" });
          case "/v1/admin/forbidden":
            return problem(403, { error: '"dev" may not use GET /v1/admin/roles: it needs the admin permission admin:read', hint: "grant it" });
          case "/v1/admin/broken":
            return problem(500, { error: "internal error", hint: "the gateway's log has the details" });
          case "/v1/admin/slow":
            await Bun.sleep(2_000);
            return Response.json({});
          default:
            return new Response("<html>not here</html>", { status: 404, headers: { "content-type": "text/html" } });
        }
      },
    });
    remote = { url: `http://127.0.0.1:${server.port}`, token: "t0k", source: "--server" };
  });
  afterAll(() => server.stop(true));

  async function failure(path: string, timeoutMs?: number): Promise<McpgwError> {
    const error = await adminClient(remote)
      .request("GET", path, { ...(timeoutMs !== undefined && { timeoutMs }) })
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(McpgwError);
    return error as McpgwError;
  }

  test("sends the bearer token and JSON, with the query, and returns the answer's JSON", async () => {
    const answer = await adminClient(remote).request("POST", "/v1/admin/ok", { body: { a: 1 }, query: { dryRun: "true" } });
    expect(answer).toEqual({ echoed: "true" });
    expect(seen.at(-1)).toEqual({ authorization: "Bearer t0k", contentType: "application/json", body: '{"a":1}' });
  });

  test("400 is a usage error (exit 2) with the hint and the field", async () => {
    const error = await failure("/v1/admin/bad");
    expect(error).toBeInstanceOf(UsageError);
    expect([error.exitCode, error.message, error.hint, error.field]).toEqual([2, "--rate is required", "e.g. --rate 100/min", "rate"]);
  });

  test("404, 409 and 422 are the database mode's errors (exit 1), message and hint as the gateway gave them", async () => {
    const missing = await failure("/v1/admin/missing");
    expect(missing).toBeInstanceOf(NotFoundError);
    expect([missing.exitCode, missing.message, missing.hint]).toEqual([1, 'there is no role "x"', "list the roles with: mcpgw role list"]);
    expect(await failure("/v1/admin/taken")).toBeInstanceOf(ConflictError);
    const refused = await failure("/v1/admin/refused");
    expect([refused.exitCode, refused.message, refused.hint]).toEqual([1, 'backend "x" was not added: testing it failed', "fix the flag"]);
  });

  test("401 says the gateway refused the token and how to get an admin token; 403 passes on the permission needed", async () => {
    const unauthenticated = await failure("/v1/admin/unauthenticated");
    expect(unauthenticated.exitCode).toBe(1);
    expect(unauthenticated.message).toBe(`the gateway at ${remote.url} refused the token (Unauthorized: token expired)`);
    expect(unauthenticated.hint).toContain("--token or MCPGW_TOKEN");
    const forbidden = await failure("/v1/admin/forbidden");
    expect([forbidden.exitCode, forbidden.message, forbidden.hint]).toEqual([1, expect.stringContaining("admin:read"), "grant it"]);
  });

  test("a 5xx says the gateway failed; an answer that is not the admin API's says so", async () => {
    expect((await failure("/v1/admin/broken")).message).toBe(`the gateway at ${remote.url} failed: internal error`);
    const elsewhere = await failure("/not-admin");
    expect(elsewhere.message).toBe(`the gateway at ${remote.url} answered GET /not-admin with HTTP 404 and no admin API error`);
    expect(elsewhere.hint).toContain("is --server the address of an mcpgw gateway");
  });

  test("no answer in time: says so, and that the change may have been made", async () => {
    const slow = await failure("/v1/admin/slow", 200);
    expect(slow.exitCode).toBe(1);
    expect(slow.message).toBe(`the gateway at ${remote.url} did not answer GET /v1/admin/slow within 200ms`);
    expect(slow.hint).toContain("check with a list or show command");
  });

  test("nothing listening: cannot reach the gateway, naming the option to check", async () => {
    const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
    const port = probe.port;
    await probe.stop(true);
    const error = await adminClient({ url: `http://127.0.0.1:${port}`, token: "t", source: "MCPGW_SERVER" })
      .request("GET", "/v1/admin/roles")
      .then(
        () => undefined,
        (err: unknown) => err as McpgwError,
      );
    expect(error).toBeInstanceOf(McpgwError);
    expect(error?.message).toMatch(
      new RegExp(`^cannot reach the gateway at http://127\\.0\\.0\\.1:${port}: .+ \\(is mcpgw serve running\\? check MCPGW_SERVER\\)$`),
    );
  });
});
