import type { AuthSettings } from "./auth-settings.ts";
import type { KeyRing } from "./key-ring.ts";
import type { ProtectedResourceMetadata } from "./well-known-schemas.ts";

const METADATA_PATH = "/.well-known/oauth-protected-resource";
const JWKS_PATH = "/.well-known/jwks.json";
/** The MCP endpoints a path-specific metadata document may describe. */
const MCP_RESOURCE = /^\/mcp(?:\/[a-z0-9](?:[a-z0-9-]|_(?!_)){0,62})?$/;

export interface WellKnownOptions {
  auth: AuthSettings;
  keys: KeyRing;
}

/** The public origin of the gateway: MCPGW_PUBLIC_URL, else the origin the request was made to. */
export function publicBase(auth: Pick<AuthSettings, "publicUrl">, request: Request): string {
  return auth.publicUrl ?? new URL(request.url).origin;
}

/** Where the root RFC 9728 document is, for the WWW-Authenticate header of a 401. */
export function resourceMetadataUrl(auth: Pick<AuthSettings, "publicUrl">, request: Request): string {
  return `${publicBase(auth, request)}${METADATA_PATH}`;
}

/**
 * The authorization servers to name: the configured ones; else the identity provider's issuer;
 * else the gateway's own issuer when it is a URL (mcpgw mints tokens with its CLI and has no
 * OAuth endpoints); else the gateway itself. MCP 2025-11-25 requires at least one.
 */
function authorizationServers(auth: AuthSettings, base: string): string[] {
  if (auth.authorizationServers.length > 0) return auth.authorizationServers;
  if (auth.external) return [auth.external.issuer];
  return [URL.canParse(auth.tokenIssuer) && /^https?:/.test(auth.tokenIssuer) ? auth.tokenIssuer : base];
}

/**
 * The open documents under /.well-known: the RFC 9728 protected resource metadata (at the root,
 * and at /.well-known/oauth-protected-resource/mcp[/<backend>], where MCP clients look first,
 * MCP 2025-11-25 basic/authorization) and the JWK Set of the gateway's signing keys.
 * Returns undefined for other paths.
 */
export function createWellKnownRoutes(options: WellKnownOptions): (request: Request, path: string) => Response | undefined {
  const { auth, keys } = options;
  return (request, path) => {
    let body: unknown;
    if (path === JWKS_PATH) {
      body = keys.jwks();
    } else if (path === METADATA_PATH || path.startsWith(`${METADATA_PATH}/`)) {
      const resourcePath = path.slice(METADATA_PATH.length);
      if (resourcePath !== "" && !MCP_RESOURCE.test(resourcePath)) return notFound(path);
      const base = publicBase(auth, request);
      // RFC 9728 §3.3: `resource` is the identifier the document was looked up for.
      body = {
        resource: `${base}${resourcePath}`,
        authorization_servers: authorizationServers(auth, base),
        bearer_methods_supported: ["header"],
        jwks_uri: `${base}${JWKS_PATH}`,
        resource_name: "mcpgw",
      } satisfies ProtectedResourceMetadata;
    } else {
      return undefined;
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      return Response.json({ error: `${request.method} is not allowed on ${path}; use GET` }, { status: 405, headers: { allow: "GET, HEAD" } });
    }
    // Public documents: browser-based MCP clients fetch them cross-origin.
    return Response.json(body, { headers: { "cache-control": "public, max-age=300", "access-control-allow-origin": "*" } });
  };
}

function notFound(path: string): Response {
  return Response.json({ error: `no document at ${path}`, hint: `protected resource metadata is at ${METADATA_PATH} and ${METADATA_PATH}/mcp[/<backend>]` }, { status: 404 });
}
