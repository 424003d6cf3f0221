import { z } from "zod";
import { SIGNING_ALGORITHMS } from "../config/auth-settings.ts";

/**
 * Bodies of the open /.well-known documents: well-known.ts types its answers with these, and
 * /openapi.json is generated from them.
 */

export const ProtectedResourceMetadataSchema = z
  .object({
    resource: z.string().describe("the endpoint the document was looked up for (MCPGW_PUBLIC_URL or the request's origin, plus the path)"),
    authorization_servers: z.array(z.string()).min(1).describe("where clients obtain tokens: MCPGW_AUTHORIZATION_SERVERS, else the identity provider's issuer"),
    bearer_methods_supported: z.array(z.literal("header")).describe("tokens are read from the Authorization header only"),
    jwks_uri: z.string().describe("the gateway's public signing keys"),
    resource_name: z.string(),
  })
  .describe("OAuth 2.0 protected resource metadata (RFC 9728), as MCP clients look it up after a 401")
  .meta({
    examples: [
      {
        resource: "https://mcp.example.com/mcp",
        authorization_servers: ["https://login.example.com/realms/agents"],
        bearer_methods_supported: ["header"],
        jwks_uri: "https://mcp.example.com/.well-known/jwks.json",
        resource_name: "mcpgw",
      },
    ],
  });

export const OAuthErrorSchema = z
  .object({
    error: z.literal("invalid_request"),
    error_description: z.string().describe("why, and how to get a token for this gateway"),
  })
  .describe("An OAuth error body (RFC 6749 §5.2): this gateway names no authorization server, or is not one; OAuth client libraries show the description")
  .meta({
    examples: [
      {
        error: "invalid_request",
        error_description:
          "/register is not served here: this gateway is not an OAuth authorization server: ask the gateway's operator for a token (mcpgw token issue --sub YOU --role ROLE; mcpgw client config --client CLIENT --sub YOU prints a ready client configuration) and send it as the header Authorization: Bearer TOKEN",
      },
    ],
  });

const JWK_EXAMPLE = {
  kty: "OKP",
  crv: "Ed25519",
  x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
  kid: "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k",
  alg: "EdDSA",
  use: "sig",
};

export const JwkSchema = z
  .object({
    kty: z.enum(["OKP", "EC"]),
    crv: z.enum(["Ed25519", "P-256"]),
    x: z.string(),
    y: z.string().optional().describe("EC keys only"),
    kid: z.string().describe("the key's RFC 7638 thumbprint, as tokens name it"),
    alg: z.enum(SIGNING_ALGORITHMS),
    use: z.literal("sig"),
  })
  .describe("The public half of one of the gateway's signing keys")
  .meta({ examples: [JWK_EXAMPLE] });

export const JwksSchema = z
  .object({ keys: z.array(JwkSchema).describe("every key not retired, newest (the active one) first") })
  .describe("JWK Set (RFC 7517) of the keys the gateway signs its tokens with")
  .meta({ examples: [{ keys: [JWK_EXAMPLE] }] });

export type ProtectedResourceMetadata = z.infer<typeof ProtectedResourceMetadataSchema>;
