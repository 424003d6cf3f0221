/**
 * Where the API documentation renderer's files (swagger-ui-dist, Apache-2.0) are. The compiled
 * binary carries them: scripts/build.ts defines MCPGW_EMBED_DOCS_ASSETS, which loads
 * embedded-docs-assets.ts, whose `type: "file"` imports make `bun build --compile` embed the
 * files and evaluate to their paths inside the executable. From the sources they are read in
 * node_modules; embedded-docs-assets.ts is never loaded there, because vitest ignores import
 * attributes and would run the renderer as a module.
 */

import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

declare const MCPGW_EMBED_DOCS_ASSETS: boolean | undefined;

export interface DocsAssetPaths {
  /** swagger-ui-bundle.js: the renderer with its dependencies, one script. */
  script: string;
  /** swagger-ui.css */
  stylesheet: string;
}

const embedded: DocsAssetPaths | undefined =
  typeof MCPGW_EMBED_DOCS_ASSETS !== "undefined" && MCPGW_EMBED_DOCS_ASSETS ? (await import("./embedded-docs-assets.ts")).EMBEDDED_DOCS_ASSETS : undefined;

/** The renderer's files: embedded in the binary, else from node_modules (throws if swagger-ui-dist is not installed). */
export function docsAssetPaths(): DocsAssetPaths {
  if (embedded) return embedded;
  // import.meta.url, not import.meta.dir: under vitest this module is not loaded by Bun's loader.
  const here = dirname(fileURLToPath(import.meta.url));
  return {
    script: Bun.resolveSync("swagger-ui-dist/swagger-ui-bundle.js", here),
    stylesheet: Bun.resolveSync("swagger-ui-dist/swagger-ui.css", here),
  };
}
