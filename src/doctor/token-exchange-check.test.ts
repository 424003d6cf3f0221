import { afterAll, describe, expect, test } from "vitest";
import type { BackendSpec } from "../backends/backend-spec.ts";
import type { TokenExchangeAuth } from "../credentials/token-exchange-auth.ts";
import { checkTokenExchange } from "./token-exchange-check.ts";

/** A token endpoint that refuses every subject token, and a client other than mcpgw:right. */
const endpoint = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch: (request) =>
    request.headers.get("authorization") === `Basic ${btoa("mcpgw:right")}`
      ? Response.json({ error: "invalid_grant", error_description: "subject token invalid" }, { status: 400 })
      : Response.json({ error: "invalid_client" }, { status: 401 }),
});
/** One that issues a token for anything. */
const careless = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => Response.json({ access_token: "x", token_type: "Bearer", expires_in: 60 }) });
afterAll(() => {
  endpoint.stop(true);
  careless.stop(true);
});

const AUTH: TokenExchangeAuth = {
  mode: "token-exchange",
  tokenEndpoint: `http://127.0.0.1:${endpoint.port}/token`,
  clientId: "mcpgw",
  clientSecret: "${SECRET}",
};
const spec = (auth: TokenExchangeAuth): BackendSpec => ({
  name: "tickets",
  transport: "streamable-http",
  url: "https://tickets.test/mcp",
  env: {},
  headers: {},
  timeoutMs: 5_000,
  auth,
  createdAt: 0,
  updatedAt: 0,
});
const check = (auth: TokenExchangeAuth, env: Record<string, string>) => checkTokenExchange(spec(auth), auth, "backend tickets", env);

describe("doctor: a token-exchange backend", () => {
  test("the endpoint refusing a made-up subject token but not the client is ok", async () => {
    const result = await check(AUTH, { SECRET: "right" });
    expect(result.status).toBe("ok");
    expect(result.detail).toMatch(/answers \(it refused a made-up subject token: invalid_grant\)/);
  });

  test("a wrong client secret, an unset variable, an endpoint that is down or issues for anything are problems", async () => {
    const wrong = await check(AUTH, { SECRET: "wrong" });
    expect(wrong).toMatchObject({ status: "problem" });
    expect(wrong.detail).toMatch(/was refused: invalid_client/);
    expect(wrong.fix).toMatch(/check --client-id/);
    expect(wrong.detail).not.toContain("wrong");
    const unset = await check(AUTH, {});
    expect(unset.detail).toMatch(/uses \$\{SECRET\}, but SECRET is not set/);
    const down = await check({ ...AUTH, tokenEndpoint: "http://127.0.0.1:9/token" }, { SECRET: "right" });
    expect(down).toMatchObject({ status: "problem" });
    const anything = await check({ ...AUTH, tokenEndpoint: `http://127.0.0.1:${careless.port}/token` }, { SECRET: "right" });
    expect(anything).toMatchObject({ status: "problem" });
    expect(anything.detail).toMatch(/issued a token for a made-up subject token/);
  });
});
