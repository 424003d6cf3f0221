import { PAGE_SECURITY_HEADERS, sameOriginPolicy } from "../http/same-origin-page.ts";
import { type ConsoleAssets, loadConsoleAssets } from "./console-assets.ts";

/**
 * /admin, the web console (docs/console.md): one page and its two files, app.js and app.css, and
 * nothing else. The page is static and needs no token; everything it shows comes from the admin API
 * (/v1/admin/…), called with the admin token the operator pastes, which the page keeps in the tab's
 * sessionStorage. No cookie is ever set, so there is nothing another site could make a browser send.
 *
 * Paths inside the page are relative ("admin/app.js"), so it works behind a proxy that mounts the
 * gateway under a prefix; /admin/ redirects to /admin for the same reason.
 */

/** The page loads only its own two files (no inline script or style), talks only to this origin, and cannot be framed. */
export const CONSOLE_CONTENT_SECURITY_POLICY = sameOriginPolicy();

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mcpgw console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="admin/app.css">
</head>
<body>
<noscript>The console needs JavaScript. The admin API it uses is described at <a href="openapi.json">openapi.json</a>.</noscript>
<div id="app"></div>
<script type="module" src="admin/app.js"></script>
</body>
</html>
`;

const SECURITY_HEADERS = { ...PAGE_SECURITY_HEADERS, "content-security-policy": CONSOLE_CONTENT_SECURITY_POLICY };

/** Whether a path is the console's. */
export function isConsolePath(path: string): boolean {
  return path === "/admin" || path.startsWith("/admin/");
}

interface ServedFile {
  body: Uint8Array<ArrayBuffer>;
  contentType: string;
  etag: string;
  /** The gzip-compressed body, made on first request. */
  gzipped?: Uint8Array<ArrayBuffer>;
}

export interface ConsoleRouteOptions {
  /** MCPGW_CONSOLE: off answers 404 on every console path. */
  enabled: boolean;
  /** Where the files come from (default: embedded in the binary, else bundled from the sources). */
  assets?: () => Promise<ConsoleAssets>;
}

function problem(status: number, error: string, hint: string, headers: Record<string, string> = {}): Response {
  return Response.json({ error, hint }, { status, headers: { "cache-control": "no-store", ...headers } });
}

/**
 * Serves /admin, /admin/app.js and /admin/app.css; undefined for other paths. The files are loaded
 * (read from the executable, or bundled) on the first request for one, once: most gateways never serve them.
 */
export function createConsoleRoutes(options: ConsoleRouteOptions): (request: Request, path: string) => Response | Promise<Response> | undefined {
  const load = options.assets ?? loadConsoleAssets;
  let files: Promise<Record<string, ServedFile>> | undefined;
  const servedFiles = async (): Promise<Record<string, ServedFile>> => {
    const assets = await load();
    const file = (body: Uint8Array<ArrayBuffer>, contentType: string): ServedFile => ({ body, contentType, etag: `"${Bun.hash(body).toString(36)}"` });
    return {
      "/admin/app.js": file(assets.script, "text/javascript; charset=utf-8"),
      "/admin/app.css": file(assets.stylesheet, "text/css; charset=utf-8"),
    };
  };

  return (request, path) => {
    if (!isConsolePath(path)) return undefined;
    if (!options.enabled) {
      return problem(
        404,
        "the web console is off on this gateway (MCPGW_CONSOLE=off)",
        "set MCPGW_CONSOLE=on to serve it; the admin API at /v1/admin/… answers either way",
      );
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      return problem(405, `${request.method} is not allowed on ${path}`, "use GET", { allow: "GET, HEAD" });
    }
    if (path === "/admin") {
      return new Response(PAGE, { headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store", ...SECURITY_HEADERS } });
    }
    if (path === "/admin/") return new Response(null, { status: 308, headers: { location: "../admin" } });
    if (path !== "/admin/app.js" && path !== "/admin/app.css") return problem(404, `no console file at ${path}`, "the console is at /admin");
    files ??= servedFiles().catch((err) => {
      files = undefined; // a failed bundle is tried again on the next request, not cached
      throw err;
    });
    return files.then((served) => serveFile(request, served[path]!));
  };
}

/** A file of the console: revalidated on each load (its name does not change with the binary), gzipped when the client takes it. */
function serveFile(request: Request, file: ServedFile): Response {
  const headers: Record<string, string> = {
    "content-type": file.contentType,
    "cache-control": "no-cache",
    etag: file.etag,
    vary: "accept-encoding",
    ...SECURITY_HEADERS,
  };
  if (request.headers.get("if-none-match") === file.etag) return new Response(null, { status: 304, headers });
  if (!/\bgzip\b/.test(request.headers.get("accept-encoding") ?? "")) return new Response(file.body, { headers });
  file.gzipped ??= Bun.gzipSync(file.body);
  return new Response(file.gzipped, { headers: { ...headers, "content-encoding": "gzip" } });
}
