/**
 * The web console's two files, app.js (Preact and the pages, one minified bundle) and app.css. The
 * compiled binary carries them: scripts/build.ts bundles the console into dist/console/ first, then
 * compiles with MCPGW_EMBED_CONSOLE_ASSETS defined, which loads embedded-console-assets.ts, whose
 * `type: "file"` imports embed the files (as docs-assets.ts does for Swagger UI). From the sources
 * (`npm start`, tests) the bundle is built in memory by Bun.build on the first request to /admin.
 */

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

declare const MCPGW_EMBED_CONSOLE_ASSETS: boolean | undefined;

/** Paths of the bundled files (inside the executable, or in dist/console/). */
export interface ConsoleAssetFiles {
  script: string;
  stylesheet: string;
}

/** The files' contents. */
export interface ConsoleAssets {
  script: Uint8Array<ArrayBuffer>;
  stylesheet: Uint8Array<ArrayBuffer>;
}

const embedded: ConsoleAssetFiles | undefined =
  typeof MCPGW_EMBED_CONSOLE_ASSETS !== "undefined" && MCPGW_EMBED_CONSOLE_ASSETS
    ? (await import("./embedded-console-assets.ts")).EMBEDDED_CONSOLE_ASSETS
    : undefined;

// import.meta.url, not import.meta.dir: under vitest this module is not loaded by Bun's loader.
const APP_DIR = join(dirname(fileURLToPath(import.meta.url)), "app");

/** The console's entry points: the Preact app (TSX, compiled with the tsconfig's jsxImportSource preact) and its stylesheet. */
export const CONSOLE_ENTRY_POINTS = { script: join(APP_DIR, "main.tsx"), stylesheet: join(APP_DIR, "app.css") } as const;

/** Bundles the console with Bun.build, minified, in memory: what scripts/build.ts writes to dist/console/ and what a source run serves. */
export async function bundleConsole(): Promise<ConsoleAssets> {
  const result = await Bun.build({
    entrypoints: [CONSOLE_ENTRY_POINTS.script, CONSOLE_ENTRY_POINTS.stylesheet],
    target: "browser",
    format: "esm",
    minify: true,
    define: { "process.env.NODE_ENV": JSON.stringify("production") },
  });
  if (!result.success) throw new Error(`the console did not build:\n${result.logs.map(String).join("\n")}`);
  const script = result.outputs.find((output) => output.kind === "entry-point" && output.path.endsWith(".js"));
  const stylesheet = result.outputs.find((output) => output.path.endsWith(".css"));
  if (!script || !stylesheet) throw new Error(`the console's bundle lacks ${script ? "app.css" : "app.js"}: ${result.outputs.map((o) => o.path).join(", ")}`);
  return { script: new Uint8Array(await script.arrayBuffer()), stylesheet: new Uint8Array(await stylesheet.arrayBuffer()) };
}

/** The console's files: read from the executable when embedded, else bundled from src/console/app/. */
export async function loadConsoleAssets(): Promise<ConsoleAssets> {
  if (!embedded) return bundleConsole();
  return { script: await Bun.file(embedded.script).bytes(), stylesheet: await Bun.file(embedded.stylesheet).bytes() };
}
