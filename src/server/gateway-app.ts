import { isAdminPath } from "../admin/admin-api.ts";
import { isAuthDocumentPath } from "../auth/well-known.ts";
import { createConsoleRoutes } from "../console/console-route.ts";
import type { McpHttpFront } from "../front/mcp-http-front.ts";
import type { MetricsRegistry } from "../observability/metrics.ts";
import type { Logger } from "../log/logger.ts";
import type { Store } from "../store/store.ts";
import { createApiDocsRoutes } from "./api-docs.ts";
import type { HealthBody, NotReadyBody, ReadyBody } from "./open-route-schemas.ts";
import { type AuditHealthSource, checkReadiness } from "./readiness.ts";

export interface GatewayAppOptions {
  store: Store;
  logger: Logger;
  version: string;
  /** The MCP endpoints (/mcp, /mcp/<backend>); absent in tests of the health routes alone. */
  mcp?: McpHttpFront;
  /** The open /.well-known documents (RFC 9728 metadata, JWKS); undefined for paths it does not serve. */
  wellKnown?: (request: Request, path: string) => Response | undefined;
  /** The audit log's state, which /readyz reports (failing closed, an unavailable log means not ready). */
  audit?: AuditHealthSource;
  /** The REST jobs API at /v1/jobs (authenticated like /mcp). */
  jobs?: (request: Request, path: string) => Promise<Response>;
  /** The admin API at /v1/admin/… (authenticated like /mcp, admin permissions required). */
  admin?: (request: Request, path: string) => Promise<Response>;
  /** Served as Prometheus text at /metrics (open, like the health routes). */
  metrics?: MetricsRegistry;
  /** The web console at /admin (MCPGW_CONSOLE; default on): static files, its data from the admin API. */
  console?: boolean;
}

/** The gateway as a web-standard handler: Request in, Response out (Bun.serve in production, direct calls in tests). */
export interface GatewayApp {
  fetch(request: Request): Promise<Response>;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The path of an absolute request URL, read without parsing the URL (a cost on every request)
 * when it is plain: no dot segments, escapes or backslashes for the URL parser to normalise.
 * Undefined otherwise, and the caller parses.
 */
export function plainPathname(url: string): string | undefined {
  const scheme = url.indexOf("://");
  if (scheme < 0) return undefined;
  const start = url.indexOf("/", scheme + 3);
  if (start < 0) return "/";
  let end = url.length;
  for (let i = start; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 63 /* ? */ || c === 35 /* # */) {
      end = i;
      break;
    }
    if (c === 46 /* . */ || c === 37 /* % */ || c === 92 /* \ */) return undefined;
  }
  return url.slice(start, end);
}

function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return Response.json(body, { status, headers: { "cache-control": "no-store", ...headers } });
}

/** Builds the gateway's routes; everything is wired here once, nothing per request. */
export function createGatewayApp(options: GatewayAppOptions): GatewayApp {
  const { store, logger, version, mcp, wellKnown } = options;
  // /openapi.json and /docs: the document is generated here, once.
  const apiDocs = createApiDocsRoutes({ version });
  const consolePages = createConsoleRoutes({ enabled: options.console ?? true });

  async function route(request: Request, pathname: string, log: () => Logger): Promise<Response> {
    if (mcp && (pathname === "/mcp" || pathname.startsWith("/mcp/"))) return mcp.handle(request, pathname);
    if (options.jobs && (pathname === "/v1/jobs" || pathname.startsWith("/v1/jobs/"))) return options.jobs(request, pathname);
    if (options.admin && isAdminPath(pathname)) return options.admin(request, pathname);
    // Open like /healthz: clients read these before they have a token.
    if (wellKnown && isAuthDocumentPath(pathname)) {
      const document = wellKnown(request, pathname);
      if (document) return document;
    }
    // Open like /healthz: the API description is public, and the page must load before a token is entered.
    const docs = apiDocs(request, pathname);
    if (docs) return docs;
    // Open too: the console's page and files are static; its data comes from /v1/admin/… with the operator's token.
    const page = consolePages(request, pathname);
    if (page) return page;
    if (pathname === "/metrics" && options.metrics) {
      return new Response(await options.metrics.scrape(), {
        headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8", "cache-control": "no-store" },
      });
    }
    switch (pathname) {
      case "/healthz":
        return json({ status: "ok", version } satisfies HealthBody);
      case "/readyz": {
        const readiness = await checkReadiness(store, options.audit);
        if (readiness.ready) return json({ status: "ready" } satisfies ReadyBody);
        log().warn({ reason: readiness.reason }, "not ready");
        return json({ status: "not ready", reason: readiness.reason } satisfies NotReadyBody, 503);
      }
      default:
        return json({ error: `no route for ${request.method} ${pathname}`, hint: "MCP clients connect to /mcp or /mcp/<backend>" }, 404);
    }
  }

  return {
    async fetch(request) {
      const incoming = request.headers.get("x-request-id");
      const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
      // The request's child logger, made on first use: most requests log nothing at the default level.
      let child: Logger | undefined;
      const log = () => (child ??= logger.child({ reqId: requestId }));
      const pathname = plainPathname(request.url) ?? new URL(request.url).pathname;
      let response: Response;
      try {
        response = await route(request, pathname, log);
      } catch (err) {
        log().error({ err }, "request failed");
        response = json({ error: "internal error", requestId }, 500);
      }
      response.headers.set("x-request-id", requestId);
      if (logger.isLevelEnabled("debug")) log().debug({ method: request.method, path: pathname, status: response.status }, "request");
      return response;
    },
  };
}
