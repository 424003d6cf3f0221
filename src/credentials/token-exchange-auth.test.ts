import { describe, expect, test } from "vitest";
import { UsageError } from "../errors.ts";
import { type BackendAuthInput, authInputOf, describeAuth, parseBackendAuth } from "./backend-auth.ts";

const ENDPOINT = "https://idp.example.com/oauth2/token";
const URL = "https://tickets.example.com/mcp";

function usageMessage(input: BackendAuthInput, transport: "http" | "stdio" = "http", headers: Record<string, string> = {}): string {
  try {
    parseBackendAuth(input, transport, headers);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as UsageError).message;
  }
  throw new Error("expected a UsageError");
}

describe("backend --auth token-exchange", () => {
  test("keeps the settings given, written back as the same flags", () => {
    expect(parseBackendAuth({ auth: "token-exchange", tokenEndpoint: ENDPOINT }, "http", {})).toEqual({ mode: "token-exchange", tokenEndpoint: ENDPOINT });
    const flags = {
      auth: "token-exchange",
      tokenEndpoint: ENDPOINT,
      exchangeAudience: "https://tickets.example.com",
      exchangeScope: "tickets:read tickets:write",
      clientId: "mcpgw",
      clientSecret: "${EXCHANGE_SECRET}",
      authHeader: "X-Ticket-Token",
    };
    const auth = parseBackendAuth(flags, "http", {});
    expect(auth).toEqual({
      mode: "token-exchange",
      tokenEndpoint: ENDPOINT,
      audience: "https://tickets.example.com",
      scope: "tickets:read tickets:write",
      clientId: "mcpgw",
      clientSecret: "${EXCHANGE_SECRET}",
      header: "X-Ticket-Token",
    });
    expect(authInputOf(auth)).toEqual(flags);
    // A loopback token endpoint may be plain http (a sidecar identity provider).
    expect(parseBackendAuth({ auth: "token-exchange", tokenEndpoint: "http://127.0.0.1:8081/token" }, "http", {})).toBeDefined();
  });

  test("bad settings are usage errors that say what to do; a client secret is only ever a ${VAR} reference", () => {
    expect(usageMessage({ auth: "token-exchange" })).toBe("--auth token-exchange needs --token-endpoint URL");
    expect(usageMessage({ tokenEndpoint: ENDPOINT })).toBe("--token-endpoint needs --auth token-exchange");
    expect(usageMessage({ auth: "static", exchangeScope: "x" })).toMatch(/--exchange-scope applies only to --auth token-exchange/);
    expect(usageMessage({ auth: "gateway-assertion", clientId: "x" })).toMatch(/--client-id applies only to --auth token-exchange/);
    expect(usageMessage({ auth: "token-exchange", tokenEndpoint: ENDPOINT, assertionAudience: "x" })).toMatch(
      /--assertion-audience applies only to --auth gateway-assertion/,
    );
    expect(usageMessage({ auth: "token-exchange", tokenEndpoint: ENDPOINT }, "stdio")).toBe("--auth token-exchange applies only to --url (HTTP) backends");
    expect(usageMessage({ auth: "token-exchange", tokenEndpoint: "http://idp.example.com/token" })).toMatch(/must use https/);
    expect(usageMessage({ auth: "token-exchange", tokenEndpoint: "idp/token" })).toMatch(/is not a URL/);
    expect(usageMessage({ auth: "token-exchange", tokenEndpoint: "https://id:pw@idp.example.com/token" })).toMatch(/must not hold credentials/);
    const literal = { auth: "token-exchange", tokenEndpoint: ENDPOINT, clientId: "mcpgw", clientSecret: "hunter2" };
    expect(usageMessage(literal)).toBe("--client-secret takes a ${VAR} reference, never the secret itself");
    expect(usageMessage({ ...literal, clientSecret: "x${VAR}" })).toMatch(/takes a \$\{VAR\} reference/);
    expect(usageMessage({ auth: "token-exchange", tokenEndpoint: ENDPOINT, clientSecret: "${S}" })).toBe("--client-secret needs --client-id");
    expect(usageMessage({ auth: "token-exchange", tokenEndpoint: ENDPOINT, exchangeScope: 'a "b"' })).toMatch(/is not a scope list/);
    expect(usageMessage({ auth: "token-exchange", tokenEndpoint: ENDPOINT, exchangeAudience: " " })).toBe("--exchange-audience is empty");
    const clashing = usageMessage({ auth: "token-exchange", tokenEndpoint: ENDPOINT }, "http", { Authorization: "Bearer ${K}" });
    expect(clashing).toMatch(/--header Authorization would be overwritten/);
  });

  test("described for backend show without any secret", () => {
    const auth = parseBackendAuth(
      { auth: "token-exchange", tokenEndpoint: ENDPOINT, exchangeScope: "read", clientId: "mcpgw", clientSecret: "${S}" },
      "http",
      {},
    );
    expect(describeAuth(auth, URL)).toBe(
      `token-exchange: the caller's identity-provider token exchanged at ${ENDPOINT} (aud ${URL}, scope "read"), as client mcpgw (secret \${S}), sent in Authorization: Bearer …`,
    );
  });
});
