import { afterAll, describe, expect, test } from "vitest";
import { SubjectToken } from "./subject-token.ts";
import { MAX_EXCHANGE_RESPONSE_BYTES, TokenExchangeError, exchangeToken } from "./token-exchange.ts";

const SUBJECT_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl";

/** A token endpoint whose answer each test chooses, recording what it was sent. */
const seen: { authorization: string | null; form: URLSearchParams }[] = [];
let answer: () => Response = () => Response.json({});
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch: async (request) => {
    seen.push({ authorization: request.headers.get("authorization"), form: new URLSearchParams(await request.text()) });
    return answer();
  },
});
afterAll(() => server.stop(true));

function exchange(overrides: Partial<Parameters<typeof exchangeToken>[0]> = {}) {
  return exchangeToken({
    backend: "tickets",
    tokenEndpoint: `http://127.0.0.1:${server.port}/token`,
    subjectToken: new SubjectToken(SUBJECT_TOKEN),
    audience: "https://tickets.test",
    ...overrides,
  });
}

async function failure(promise: Promise<unknown>): Promise<TokenExchangeError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TokenExchangeError);
  expect((err as Error).message).not.toContain(SUBJECT_TOKEN);
  return err as TokenExchangeError;
}

describe("exchangeToken (RFC 8693 client)", () => {
  test("posts the form RFC 8693 §2.1 names, with client authentication; reads the token, its expiry and jti", async () => {
    const jwt = `e30.${Buffer.from(JSON.stringify({ jti: "x-1", exp: 2_000_000_000 })).toString("base64url")}.c2ln`;
    answer = () =>
      Response.json({ access_token: jwt, issued_token_type: "urn:ietf:params:oauth:token-type:access_token", token_type: "Bearer", expires_in: 600 });
    const before = Date.now();
    const token = await exchange({ scope: "read write", clientId: "mcp gw", clientSecret: "p@ss:word" });
    expect(token).toMatchObject({ accessToken: jwt, jti: "x-1", issuedTokenType: "urn:ietf:params:oauth:token-type:access_token" });
    expect(token.expiresAtMs! - before).toBeGreaterThanOrEqual(600_000 - 1_000);
    const { authorization, form } = seen.at(-1)!;
    expect(Object.fromEntries(form)).toEqual({
      grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
      subject_token: SUBJECT_TOKEN,
      subject_token_type: "urn:ietf:params:oauth:token-type:access_token",
      requested_token_type: "urn:ietf:params:oauth:token-type:access_token",
      audience: "https://tickets.test",
      scope: "read write",
    });
    // RFC 6749 §2.3.1: id and secret form-urlencoded before Basic.
    expect(authorization).toBe(`Basic ${btoa("mcp+gw:p%40ss%3Aword")}`);
    // A public client names itself in the body.
    answer = () => Response.json({ access_token: "opaque", token_type: "N_A" });
    expect(await exchange({ clientId: "mcpgw" })).toEqual({ accessToken: "opaque" });
    expect(seen.at(-1)!.form.get("client_id")).toBe("mcpgw");
    expect(seen.at(-1)!.authorization).toBeNull();
  });

  test("an error response becomes its error and description, the caller's token taken out of it", async () => {
    answer = () => Response.json({ error: "invalid_grant", error_description: `token ${SUBJECT_TOKEN} expired\nat noon` }, { status: 400 });
    const err = await failure(exchange());
    expect(err.message).toMatch(
      /^backend "tickets": exchanging the caller's token at http:\/\/127\.0\.0\.1:\d+\/token was refused: invalid_grant \(token \[token\] expired at noon\), HTTP 400$/,
    );
    expect(err.hint).toMatch(/log in again/);
    answer = () => new Response("<html>bad gateway</html>", { status: 502 });
    expect((await failure(exchange())).message).toMatch(/was refused: HTTP 502$/);
  });

  test("answers that are not a usable token response fail clearly", async () => {
    answer = () => Response.json({ token_type: "Bearer" });
    expect((await failure(exchange())).message).toMatch(/has no access_token/);
    answer = () => Response.json({ access_token: "x", token_type: "DPoP" });
    expect((await failure(exchange())).message).toMatch(/a token of type "DPoP"; only Bearer tokens can be sent/);
    answer = () => Response.json({ access_token: "x".repeat(MAX_EXCHANGE_RESPONSE_BYTES) });
    expect((await failure(exchange())).message).toMatch(/the response is over 65536 bytes/);
    // Streamed without a length: counted as it arrives.
    answer = () =>
      new Response(
        new ReadableStream({
          pull(controller) {
            controller.enqueue(new Uint8Array(16 * 1024));
          },
        }),
      );
    expect((await failure(exchange())).message).toMatch(/the response is over 65536 bytes/);
  });

  test("an endpoint that cannot be reached fails the exchange, saying where", async () => {
    const err = await failure(exchange({ tokenEndpoint: "http://127.0.0.1:9/token" }));
    expect(err.message).toMatch(/^backend "tickets": exchanging the caller's token at http:\/\/127\.0\.0\.1:9\/token failed: /);
    expect(err.hint).toMatch(/reachable from the gateway/);
  });

  test("the subject token never shows when printed", () => {
    const token = new SubjectToken(SUBJECT_TOKEN);
    const printed = [JSON.stringify({ token }), String(token), `${token}`, Bun.inspect(token), Bun.inspect({ nested: { token } })];
    for (const text of printed) expect(text).not.toContain(SUBJECT_TOKEN);
    expect(token.reveal()).toBe(SUBJECT_TOKEN);
  });
});
