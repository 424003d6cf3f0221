import { PAGE_SECURITY_HEADERS, sameOriginPolicy } from "../http/same-origin-page.ts";
import { type DocsAssetPaths, docsAssetPaths } from "./docs-assets.ts";

/**
 * /openapi.json and /docs, the interactive API documentation (Swagger UI), served from the
 * gateway itself with no network access: the renderer's files are embedded in the binary.
 *
 * Paths inside the page are relative ("docs/…", "openapi.json"), so it keeps working behind a
 * proxy that mounts the gateway under a prefix; /docs/ redirects to /docs for the same reason.
 */

/**
 * The page loads only its own files (no inline script or style), fetches only this origin, and
 * cannot be framed. Swagger UI's icons are data: images in its stylesheet.
 */
export const DOCS_CONTENT_SECURITY_POLICY = sameOriginPolicy("font-src 'self'");

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mcpgw API</title>
<link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
<noscript>This page needs JavaScript. The API description is at <a href="openapi.json">openapi.json</a>.</noscript>
<div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/init.js"></script>
</body>
</html>
`;

// An external file rather than an inline script, so the policy needs no 'unsafe-inline'.
// validatorUrl null: Swagger UI would otherwise send the document to validator.swagger.io.
const INIT_SCRIPT = `"use strict";
window.ui = SwaggerUIBundle({
  url: new URL("openapi.json", document.baseURI).href,
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
`;

const SECURITY_HEADERS = PAGE_SECURITY_HEADERS;

interface StaticAsset {
  file: string;
  contentType: string;
  /** The gzip-compressed body, made on first request: most gateways never serve the page. */
  gzipped?: Uint8Array<ArrayBuffer>;
}

/**
 * Serves /openapi.json and /docs…; undefined for other paths. The document is built once, on its
 * first request: built at start it cost `serve` about 9 ms before /readyz (docs/deployment.md, "Footprint").
 */
export function createApiDocsRoutes(options: {
  version: string;
  assets?: DocsAssetPaths;
}): (request: Request, path: string) => Response | Promise<Response> | undefined {
  let document: string | undefined;
  const assets = options.assets ?? docsAssetPaths();
  const files: Record<string, StaticAsset> = {
    "/docs/swagger-ui-bundle.js": { file: assets.script, contentType: "text/javascript; charset=utf-8" },
    "/docs/swagger-ui.css": { file: assets.stylesheet, contentType: "text/css; charset=utf-8" },
  };

  // Built on first request from zod schemas (openapi.ts), which are loaded then too: zod is several MB of RSS.
  const openApiDocument = async () => {
    document ??= JSON.stringify((await import("./openapi.ts")).buildOpenApiDocument(options.version));
    return document;
  };

  return (request, path) => {
    if (path !== "/openapi.json" && path !== "/docs" && !path.startsWith("/docs/")) return undefined;
    if (request.method !== "GET" && request.method !== "HEAD") {
      return Response.json({ error: `${request.method} is not allowed on ${path}; use GET` }, { status: 405, headers: { allow: "GET, HEAD" } });
    }
    switch (path) {
      case "/openapi.json":
        // Public like the /.well-known documents, so browser tools on other origins can load it.
        return openApiDocument().then(
          (body) =>
            new Response(body, {
              headers: { "content-type": "application/json", "cache-control": "public, max-age=300", "access-control-allow-origin": "*", ...SECURITY_HEADERS },
            }),
        );
      case "/docs":
        return new Response(PAGE, {
          headers: {
            "content-type": "text/html; charset=utf-8",
            "cache-control": "no-cache",
            "content-security-policy": DOCS_CONTENT_SECURITY_POLICY,
            ...SECURITY_HEADERS,
          },
        });
      case "/docs/":
        return new Response(null, { status: 308, headers: { location: "../docs" } });
      case "/docs/init.js":
        return new Response(INIT_SCRIPT, { headers: { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-cache", ...SECURITY_HEADERS } });
    }
    const asset = files[path];
    if (!asset) return Response.json({ error: `no document at ${path}`, hint: "the API documentation is at /docs" }, { status: 404 });
    return serveAsset(request, asset);
  };
}

async function serveAsset(request: Request, asset: StaticAsset): Promise<Response> {
  // The renderer changes only with the binary: an hour of caching, revalidated after an upgrade.
  const headers: Record<string, string> = {
    "content-type": asset.contentType,
    "cache-control": "public, max-age=3600",
    vary: "accept-encoding",
    ...SECURITY_HEADERS,
  };
  if (!/\bgzip\b/.test(request.headers.get("accept-encoding") ?? "")) return new Response(Bun.file(asset.file), { headers });
  asset.gzipped ??= Bun.gzipSync(await Bun.file(asset.file).bytes());
  return new Response(asset.gzipped, { headers: { ...headers, "content-encoding": "gzip" } });
}
