// Loaded only in the compiled binary (see console-assets.ts): scripts/build.ts bundles the console into dist/console/
// first, and these imports make `bun build --compile` embed those files and evaluate to their paths inside the executable.
import script from "../../dist/console/app.js" with { type: "file" };
import stylesheet from "../../dist/console/app.css" with { type: "file" };
import type { ConsoleAssetFiles } from "./console-assets.ts";

export const EMBEDDED_CONSOLE_ASSETS: ConsoleAssetFiles = { script, stylesheet };
