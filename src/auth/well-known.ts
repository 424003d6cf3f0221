import type { AuthSettings } from "../config/auth-settings.ts";
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

/** What a 401 tells the client: where the RFC 9728 document is (when there is one), and how to get a token. */
export interface AuthGuidance {
  resourceMetadataUrl?: string;
  howToGetToken: string;
}

/** The guidance for a refused request to this gateway. */
export function authGuidance(auth: AuthSettings, request: Request): AuthGuidance {
  const servers = authorizationServers(auth);
  return {
    ...(servers.length > 0 && { resourceMetadataUrl: `${publicBase(auth, request)}${METADATA_PATH}` }),
    howToGetToken: howToGetToken(auth),
  };
}

/**
 * The authorization servers to advertise: the configured ones, else the identity provider's
 * issuer, else none. mcpgw mints its own tokens with its CLI and is not an OAuth authorization
 * server: naming itself sent clients (mcp-remote, desktop apps) into OAuth registration at a
 * gateway that has no /register, where the real reason (no token, or an expired one) was lost.
 */
function authorizationServers(auth: AuthSettings): string[] {
  if (auth.authorizationServers.length > 0) return auth.authorizationServers;
  if (auth.external) return [auth.external.issuer];
  return [];
}

/** One sentence a person can act on: where a token for this gateway comes from. */
function howToGetToken(auth: AuthSettings): string {
  const own =
    "ask the gateway's operator for a token (mcpgw token issue --sub YOU --role ROLE; mcpgw client config --client CLIENT --sub YOU prints a ready client configuration) and send it as the header Authorization: Bearer TOKEN";
  const servers = authorizationServers(auth);
  if (servers.length === 0) return `this gateway is not an OAuth authorization server: ${own}`;
  return `sign in at ${servers.join(" or ")} (OAuth) and send its access token as Authorization: Bearer TOKEN, or ${own}`;
}

/** The OAuth endpoints clients try on the gateway itself when it names no authorization server. */
const OAUTH_PATHS: ReadonlySet<string> = new Set([
  "/register",
  "/authorize",
  "/token",
  "/.well-known/oauth-authorization-server",
  "/.well-known/openid-configuration",
]);

/** Paths the open auth routes answer (the /.well-known documents, and OAuth endpoints that are not here). */
export function isAuthDocumentPath(path: string): boolean {
  return path.startsWith("/.well-known/") || OAUTH_PATHS.has(path);
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
      const servers = authorizationServers(auth);
      // RFC 9728 needs at least one authorization server; without one there is no document to give.
      if (servers.length === 0) return notAnAuthorizationServer(auth, path);
      const base = publicBase(auth, request);
      // RFC 9728 §3.3: `resource` is the identifier the document was looked up for.
      body = {
        resource: `${base}${resourcePath}`,
        authorization_servers: servers,
        bearer_methods_supported: ["header"],
        jwks_uri: `${base}${JWKS_PATH}`,
        resource_name: "mcpgw",
      } satisfies ProtectedResourceMetadata;
    } else if (OAUTH_PATHS.has(path) || path.startsWith("/.well-known/oauth-authorization-server/") || path.startsWith("/.well-known/openid-configuration/")) {
      return notAnAuthorizationServer(auth, path);
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

/**
 * A client looking for OAuth endpoints on the gateway: 404 with an OAuth error body (RFC 6749
 * §5.2 shape), which OAuth client libraries (the MCP SDK's, so mcp-remote's) show as the error's
 * message, so the person sees how to get a token instead of "HTTP 404".
 */
function notAnAuthorizationServer(auth: AuthSettings, path: string): Response {
  return Response.json(
    { error: "invalid_request", error_description: `${path} is not served here: ${howToGetToken(auth)}` },
    { status: 404, headers: { "cache-control": "no-store", "access-control-allow-origin": "*" } },
  );
}

function notFound(path: string): Response {
  return Response.json(
    { error: `no document at ${path}`, hint: `protected resource metadata is at ${METADATA_PATH} and ${METADATA_PATH}/mcp[/<backend>]` },
    { status: 404 },
  );
}
