import { render } from "preact";
import { App } from "./app.tsx";

/** The console's entry point, bundled into app.js (src/console/console-assets.ts). */
render(<App />, document.getElementById("app")!);
