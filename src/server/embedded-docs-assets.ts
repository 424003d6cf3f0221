// Loaded only in the compiled binary (see docs-assets.ts): these imports make `bun build --compile`
// embed the files, and evaluate to their paths inside the executable.
import script from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "file" };
import stylesheet from "swagger-ui-dist/swagger-ui.css" with { type: "file" };
import type { DocsAssetPaths } from "./docs-assets.ts";

export const EMBEDDED_DOCS_ASSETS: DocsAssetPaths = { script, stylesheet };
